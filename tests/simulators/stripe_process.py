"""Running the localstripe stand-in (``stripe.py``, a script: importing localstripe into the
test process would bring its import-time warnings) as a child process on loopback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

SCRIPT = Path(__file__).with_name("stripe.py")


class LocalStripe:
    """One patched localstripe process on a free loopback port (its own state file)."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.js_url = f"{self.url}/js.stripe.com/v3/ownpay/"
        self.state = workdir / "localstripe.pickle"
        self.log_path = workdir / "localstripe.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--port", str(self.port), "--state", str(self.state)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited early:\n{self.log()}")
            try:
                if httpx.get(self.js_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"localstripe did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
