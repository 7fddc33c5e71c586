"""Serving an ASGI stand-in on a free loopback port inside the running event loop, so a
test can read and poke the stand-in's state while the code under test calls it over real
HTTP (with real connection errors when it is stopped)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Loopback:
    """``async with Loopback(app) as url``: ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
            ws="none", timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> str:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(1000):  # at most ~10 s
            if self.server.started:
                return self.url
            if self.task.done():
                break
            await asyncio.sleep(0.01)
        await self.__aexit__()
        raise RuntimeError("the loopback server did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=15)
            self.task = None
