"""Who is asking: the client's address, scheme and host, believing ``X-Forwarded-*`` headers
only when the connection comes from a configured trusted proxy (``OWNPAY_TRUSTED_PROXIES``).

Without trusted proxies the connection's peer address is the client.  With them, the
client is the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy
(each proxy appends the address it saw, so addresses further left are the client's claim
and could be forged)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, MutableMapping
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

Networks = tuple[IPv4Network | IPv6Network, ...]


@functools.cache
def networks(trusted: tuple[str, ...]) -> Networks:
    return tuple(ip_network(n, strict=False) for n in trusted)


def _trusted(address: str | None, trusted: Networks) -> bool:
    if not address or not trusted:
        return False
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def _header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def peer(scope: MutableMapping[str, Any]) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def via_proxy(scope: MutableMapping[str, Any], trusted: tuple[str, ...]) -> bool:
    """Whether the request reached us through one of the trusted proxies."""
    return _trusted(peer(scope), networks(trusted))


def client_ip(scope: MutableMapping[str, Any], trusted: tuple[str, ...]) -> str:
    """The client's IP address (``"unknown"`` when there is none, e.g. in-process tests)."""
    address = peer(scope)
    nets = networks(trusted)
    if _trusted(address, nets):
        forwarded = _header(scope, b"x-forwarded-for") or ""
        hops: Iterable[str] = reversed([h.strip() for h in forwarded.split(",") if h.strip()])
        for hop in hops:
            if not _trusted(hop, nets):
                try:
                    return str(ip_address(hop))
                except ValueError:
                    break  # garbage from the client's side of the chain: stop believing it
    return address or "unknown"


def forwarded_proto(scope: MutableMapping[str, Any], trusted: tuple[str, ...]) -> str:
    """``https`` or ``http`` as the client used it."""
    scheme = str(scope.get("scheme", "http"))
    if via_proxy(scope, trusted):
        proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            return proto
    return scheme


def forwarded_host(scope: MutableMapping[str, Any], trusted: tuple[str, ...]) -> str | None:
    """The ``Host`` the client asked for (``X-Forwarded-Host`` from a trusted proxy)."""
    if via_proxy(scope, trusted):
        host = (_header(scope, b"x-forwarded-host") or "").split(",")[0].strip()
        if host:
            return host
    return _header(scope, b"host")
