"""Separate hosts on this machine for the tests that need several: Linux network namespaces
the test creates itself, each joined to the test's own namespace by a veth pair, and one
*hub* address on the test's side that every host reaches (the database, through a ``socat``
forwarder to PostgreSQL's loopback port, and the test's webhook receiver listen there).

Nothing outside the test is touched: the namespaces, the veth pairs and the hub address
(a second address on the first pair's test-side end) exist only while :class:`Hosts` is
open and go with the namespaces.  Each host has its own loopback, its own address and no
route anywhere but the test's namespace -- so an API process or a worker there can reach
another only over the network, as on separate machines.

Requires root (``ip netns``) and ``socat``; :func:`available` says whether this machine
has them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def available() -> bool:
    """Root, ``ip`` and ``socat``: what :class:`Hosts` needs."""
    return os.geteuid() == 0 and bool(shutil.which("ip")) and bool(shutil.which("socat"))


@dataclass(frozen=True)
class Host:
    name: str  # the namespace
    address: str  # this host's address, reachable from the test's namespace

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run on this host (``ip netns exec`` replaces itself with it: the
        process's pid is the command's, so signals reach it directly)."""
        return ["ip", "netns", "exec", self.name, *argv]


class Hosts:
    """``count`` hosts named ``<tag>-<n>``, in the subnet ``10.<b>.<n+1>.0/24`` (``b`` from
    the test process's pid, so two runs on one machine do not collide), with the hub
    address ``10.<b>.0.1``."""

    def __init__(self, count: int, tag: str = "op") -> None:
        self.count = count
        pid = os.getpid()
        self.tag = f"{tag}{pid % 100000}"
        self._octet = 100 + pid % 100
        self.hub = f"10.{self._octet}.0.1"
        self.hosts: list[Host] = []
        self._forwarders: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Hosts:
        try:
            for n in range(self.count):
                self._add(n)
            _ip("addr", "add", f"{self.hub}/32", "dev", self._outside(0))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _outside(self, n: int) -> str:
        return f"{self.tag}h{n}"[:15]  # an interface name has at most 15 characters

    def _add(self, n: int) -> None:
        name, outside, inside = f"{self.tag}-{n}", self._outside(n), f"{self.tag}n{n}"[:15]
        near, far = f"10.{self._octet}.{n + 1}.1", f"10.{self._octet}.{n + 1}.2"
        _ip("netns", "add", name)
        self.hosts.append(Host(name, far))  # at once, so that close() removes it
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", name)
        _ip("addr", "add", f"{near}/24", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{far}/24", "dev", inside)
        _ip("-n", name, "link", "set", inside, "up")
        _ip("-n", name, "route", "add", "default", "via", near)

    def forward(self, target_port: int, log_path: Path, target_host: str = "127.0.0.1") -> int:
        """A port on the hub that relays every connection to ``target_host:target_port``
        in the test's namespace (``socat``, one child per connection); returns the port."""
        probe = socket.socket()
        probe.bind((self.hub, 0))
        port = int(probe.getsockname()[1])
        probe.close()
        log = open(log_path, "ab")  # noqa: SIM115 - handed to the child process
        self._forwarders.append(subprocess.Popen(
            ["socat", f"TCP-LISTEN:{port},bind={self.hub},fork,reuseaddr",
             f"TCP:{target_host}:{target_port}"], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))  # its per-connection children are stopped with it
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.hub, port), timeout=0.5).close()
                return port
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"socat did not listen on {self.hub}:{port}")

    def close(self) -> None:
        for proc in self._forwarders:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self._forwarders.clear()
        for host in self.hosts:
            # The veth pair (and the hub address on its far end) goes with the namespace.
            subprocess.run(["ip", "netns", "del", host.name], capture_output=True, timeout=20)
        self.hosts.clear()
