"""A webhook receiver on loopback for tests: records every request at arrival and answers
as told per path (status, delay, stall until released, fail the first N tries of each
delivery id).  Runs in a thread of the test process, so it keeps answering while the test's
event loop waits, and it outlives the server/worker processes the tests kill."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.time() at arrival

    @property
    def delivery_id(self) -> str:
        return self.headers.get("x-ownpay-delivery", "")


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    stall: bool = False  # hold the request until release() (at most 30 s)
    fail_first: int = 0  # answer 500 to the first N requests of each delivery id
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.requests: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._seen: Counter[tuple[str, str]] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                item = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.time(),
                )
                behaviour = receiver._record(item)
                status = behaviour.status
                if behaviour.fail_first:
                    with receiver._lock:
                        receiver._seen[(self.path, item.delivery_id)] += 1
                        if receiver._seen[(self.path, item.delivery_id)] <= behaviour.fail_first:
                            status = 500
                if behaviour.stall:
                    receiver._release.wait(30)
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                try:
                    self.send_response(status)
                    for name, value in behaviour.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(behaviour.body)))
                    self.end_headers()
                    self.wfile.write(behaviour.body)
                except OSError:
                    pass  # the sender is gone (killed worker, timeout)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _record(self, item: Received) -> Behaviour:
        with self._lock:
            self.requests.append(item)
            return self.behaviours.get(item.path, Behaviour())

    def set(self, path: str, **kwargs: Any) -> str:
        """Configure ``path``; returns its full URL."""
        self.behaviours[path] = Behaviour(**kwargs)
        return self.url + path

    def release(self) -> None:
        self._release.set()

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    async def wait_for(
        self, predicate: Callable[[list[Received]], bool], within: float = 10.0
    ) -> list[Received]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            got = self.received()
            if predicate(got):
                return got
            await asyncio.sleep(0.02)
        raise AssertionError(f"receiver: condition not met in {within} s; got {self.received()!r}")

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
