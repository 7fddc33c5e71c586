"""PgBouncer in transaction pooling mode in front of the test PostgreSQL, for the tests of
``OWNPAY_DATABASE_POOLER=transaction``.

:func:`pgbouncer` starts one on a free loopback port (as the ``postgres`` user when the
tests run as root, since PgBouncer refuses root) with a wildcard database entry, so every
throw-away database the tests make is reachable through it, and few server connections, so
client transactions really do move between server connections.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.ports import free_port

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def through(url: str, port: int) -> str:
    """``url`` (a database on the test server) reached through the PgBouncer on ``port``."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    return f"{parts.scheme}://{user}@127.0.0.1:{port}{parts.path}"


@contextmanager
def pgbouncer(server_url: str, *, server_connections: int = 3) -> Iterator[int]:
    """A PgBouncer (pool_mode = transaction) in front of ``server_url``'s server; its port.
    Its files live in a directory of its own that the ``postgres`` user can read."""
    assert os.path.exists(BINARY), "PgBouncer is installed by make install-system"
    parts = urlsplit(server_url)
    user = parts.username or "postgres"
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="ownpay-pgbouncer-"))
    (home / "users.txt").write_text(f'"{user}" ""\n')
    (home / "pgbouncer.ini").write_text(f"""[databases]
* = host={parts.hostname or "127.0.0.1"} port={parts.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {home / "users.txt"}
pool_mode = transaction
default_pool_size = {server_connections}
max_client_conn = 400
ignore_startup_parameters = extra_float_digits
logfile = {home / "pgbouncer.log"}
""")
    command = [BINARY, str(home / "pgbouncer.ini")]
    if os.geteuid() == 0:
        for path in (home, *home.iterdir()):
            path.chmod(0o777 if path.is_dir() else 0o666)
        command[1:1] = ["-u", "postgres"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise AssertionError(f"PgBouncer did not start: {err}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
