"""Free loopback ports for servers the tests start (``ownpay serve``, localstripe, the bKash
simulator, a PHP receiver).

A port is chosen here and bound later by another process, so two choosers must never hand
out the same one in between.  The kernel's ``bind(0)`` cannot promise that: it may give a
just-released port to another pytest-xdist worker, or to an outgoing connection (which
takes its local port from the same ephemeral range).  So ports come from below the
ephemeral range, each worker from its own slice of it, handed out in turn from a random
start (two runs on one machine rarely walk in step), and each is checked free by binding it.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Iterator

FIRST = 20000


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _slice() -> range:
    """This worker's ports: an equal share of [FIRST, ephemeral low)."""
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) % workers if worker.isdigit() else 0
    size = (_ephemeral_low() - FIRST) // workers
    return range(FIRST + index * size, FIRST + (index + 1) * size)


def _candidates() -> Iterator[int]:
    ports = _slice()
    if len(ports) < 100:  # an unusual ephemeral range: leave the choice to the kernel
        return iter(())
    start = random.randrange(len(ports))  # noqa: S311 - not a secret
    return (ports[(start + i) % len(ports)] for i in itertools.count())


_next: Iterator[int] | None = None  # made on first use, once xdist has named the worker


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback TCP port nobody listens on, not handed out before in this worker."""
    global _next
    if _next is None:
        _next = _candidates()
    for port, _ in zip(_next, range(5000), strict=False):
        if _bindable(port):
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
