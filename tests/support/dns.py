"""A real DNS server on loopback for the brand-domain tests (``dnslib``), answering from a
zone the test edits: ``zone.txt(name, value)``, ``zone.a(name, ip)``, ``zone.cname(name,
target)``; ``zone.silent = True`` drops every query (a resolver's timeout).  UDP on a port
the kernel picks, bound in this process (so no other process can take it first)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

PUBLIC_IP = "203.0.113.7"  # the installation's address in the domain tests


@dataclass
class Zone:
    records: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    silent: bool = False
    queries: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _key(name: str) -> str:
        return name.rstrip(".").lower()

    def _add(self, name: str, kind: str, rdata: Any) -> None:
        with self.lock:
            self.records.setdefault((self._key(name), kind), []).append(rdata)

    def txt(self, name: str, *strings: str) -> None:
        self._add(name, "TXT", TXT(list(strings)))

    def a(self, name: str, address: str) -> None:
        self._add(name, "A", A(address))

    def aaaa(self, name: str, address: str) -> None:
        self._add(name, "AAAA", AAAA(address))

    def cname(self, name: str, target: str) -> None:
        self._add(name, "CNAME", CNAME(target.rstrip(".") + "."))

    def prove(self, domain: str, token: str, address: str = PUBLIC_IP) -> None:
        """The two records that verify ``domain``: its TXT token and its address."""
        self.txt("_ownpay-verification." + domain, token)
        self.a(domain, address)

    def clear(self, name: str | None = None) -> None:
        with self.lock:
            if name is None:
                self.records.clear()
            else:
                for key in [k for k in self.records if k[0] == self._key(name)]:
                    del self.records[key]

    def answer(self, request: DNSRecord) -> DNSRecord:
        qname = str(request.q.qname)
        kind = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((self._key(qname), kind))
            reply = request.reply()
            name = self._key(qname)
            for _ in range(8):  # follow a CNAME chain, as an authoritative server does
                targets = self.records.get((name, "CNAME"))
                if not targets or kind == "CNAME":
                    break
                reply.add_answer(RR(name + ".", QTYPE.CNAME, rdata=targets[0], ttl=5))
                name = self._key(str(targets[0].label))
            found = self.records.get((name, kind), [])
            for rdata in found:
                reply.add_answer(RR(name + ".", getattr(QTYPE, kind), rdata=rdata, ttl=5))
            if not reply.rr and not any(k[0] == name for k in self.records):
                reply.header.rcode = RCODE.NXDOMAIN
            return reply


class _Resolver(BaseResolver):  # type: ignore[misc]
    def __init__(self, zone: Zone) -> None:
        self.zone = zone

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        return self.zone.answer(request)


class _Handler(DNSHandler):  # type: ignore[misc]
    def handle(self) -> None:
        if not self.server.resolver.zone.silent:  # silent: the query is dropped unanswered
            super().handle()


class _Quiet(DNSLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data")


@contextlib.contextmanager
def dns_server() -> Iterator[tuple[Zone, str]]:
    """A zone and the ``ip:port`` of the server answering from it."""
    zone = Zone()
    server = DNSServer(_Resolver(zone), address="127.0.0.1", port=0, logger=_Quiet(),
                       handler=_Handler)
    server.start_thread()
    port = server.server.server_address[1]
    try:
        yield zone, f"127.0.0.1:{port}"
    finally:
        server.stop()
        server.server.server_close()
