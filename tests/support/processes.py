"""Real ``ownpay`` processes on loopback: ``ownpay serve`` (waited for until it answers its
health check) and ``ownpay worker``, each with its output in a log file.

The environment of such a process is :func:`server_env`: the test run's own environment
without any ``OWNPAY_*`` variable, plus a database, a data directory, a free port and the
test secret key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.markers import require_e2e
from tests.support.netns import Host
from tests.support.ports import free_port
from tests.support.settings import SECRET_KEY, TEST_RATE_LIMITS


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OWNPAY_")}
    port = free_port()
    env.update(
        {
            "OWNPAY_DATABASE_URL": database_url,
            "OWNPAY_DATA_DIR": str(data_dir),
            "OWNPAY_PORT": str(port),
            "OWNPAY_BASE_URL": f"http://127.0.0.1:{port}",
            "OWNPAY_SECRET_KEY": SECRET_KEY,
            "OWNPAY_WEBHOOKS_ALLOW_PRIVATE": "true",
            "OWNPAY_WORKER_INTERVAL": "0.2",
            "OWNPAY_DATABASE_POOL_SIZE": "4",  # see tests/support/settings.py
            "PYTHONUNBUFFERED": "1",
            **{f"OWNPAY_{name.upper()}": value for name, value in TEST_RATE_LIMITS.items()},
        }
    )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path

    def stop(self, sig: int | None = None) -> None:
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(env: dict[str, str], log_path: Path, *extra: str,
                 on: Host | None = None) -> ServerProcess:
    """``ownpay serve`` with ``env`` (on the network namespace ``on``, listening on its
    address, else on loopback), once it answers ``GET /api/v1/health``."""
    require_e2e("ownpay serve")
    port = int(env["OWNPAY_PORT"])
    host = env.get("OWNPAY_HOST", "127.0.0.1")
    argv = [sys.executable, "-m", "ownpay", "serve", *extra]
    log_file = open(log_path, "wb")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(on.command(argv) if on else argv, env=env, stdout=log_file,
                            stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 120  # a start takes 15-60 s on a loaded 2-core machine
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            last = httpx.get(url + "/api/v1/health", timeout=1)
            if last.status_code == 200:
                return ServerProcess(url=url, proc=proc, env=env, log_path=log_path)
        except httpx.HTTPError as e:
            last = e
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server at {url} did not start (last health check: {last!r}):\n"
                       f"{log_path.read_text()}")


def start_worker(env: dict[str, str], log_path: Path,
                 on: Host | None = None) -> subprocess.Popen[bytes]:
    """``ownpay worker`` with ``env`` (on the network namespace ``on``, else here; not
    waited for: it has no port to ask)."""
    require_e2e("ownpay worker")
    argv = [sys.executable, "-m", "ownpay", "worker"]
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child process
    return subprocess.Popen(on.command(argv) if on else argv, env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate, and kill if it does not end within 20 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
