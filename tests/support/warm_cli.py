"""A warm ``ownpay`` for tests that run many shell commands (tests/platform/test_doc_commands.py).

Each ``ownpay`` process spends seconds importing before it does anything, which a test
running a guide's twenty commands pays twenty times.  ``python -m tests.support.warm_cli
SOCKET`` imports the command line once and waits on a Unix socket; :func:`write_client`
writes an ``ownpay`` executable that hands its arguments, environment, working directory and
its stdin/stdout/stderr to that process, which forks a child to run the installed entry
point (``ownpay.cli.main:main``, what ``.venv/bin/ownpay`` runs) with exactly those, and
answers the child's exit status.  Only the interpreter's start-up and the imports are
shared; each command opens its own database connections, as a separate process does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path

COMMAND_TIMEOUT = 120  # a child never outlives this, even if its caller is gone


def _run_child(request: dict[str, object], fds: list[int], conn: socket.socket) -> None:
    from ownpay.cli.main import main

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    signal.alarm(COMMAND_TIMEOUT)
    env = request["env"]
    args = request["args"]
    cwd = request["cwd"]
    assert isinstance(env, dict) and isinstance(args, list) and isinstance(cwd, str)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = ["ownpay", *args]
    code = 1
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        conn.send(str(code).encode())
        os._exit(code)


def serve(path: str) -> None:
    import ownpay.app  # noqa: F401 - what every command imports sooner or later
    import ownpay.cli.main  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.bind(path)
    server.listen(8)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        if len(fds) != 3:
            conn.close()
            continue
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _run_child(json.loads(message), fds, conn)
        for fd in fds:
            os.close(fd)
        conn.close()


CLIENT = '''#!{python} -S
import json, os, socket, sys
conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
conn.connect({path!r})
request = {{"args": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
answer = conn.recv(16)
sys.exit(int(answer) if answer else 1)
'''


def write_client(directory: Path, socket_path: Path) -> Path:
    """An ``ownpay`` executable in ``directory`` that runs its commands in the warm process."""
    client = directory / "ownpay"
    client.write_text(CLIENT.format(python=sys.executable, path=str(socket_path)))
    client.chmod(0o755)
    return client


if __name__ == "__main__":
    serve(sys.argv[1])
