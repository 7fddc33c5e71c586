"""Guard for outbound webhook requests against server-side request forgery (SSRF).

A merchant chooses the URL we POST to, so without a guard a webhook could reach the
installation's own admin ports, a database on the private network or the cloud metadata
service (``169.254.169.254``).  Rules:

* ``validate_url`` checks the URL's shape when an endpoint is configured: http(s) only,
  https in live mode, no credentials, no fragment, a host, a sane port.
* ``resolve`` resolves the host **once** and refuses it when *any* address it resolves to is
  not a public unicast address (private, loopback, link-local, multicast, reserved,
  unspecified, shared/CGNAT, documentation ranges, cloud metadata — IPv4 and IPv6, with
  IPv4-mapped, 6to4 and Teredo IPv6 unwrapped to the IPv4 address they carry).
* The sender then connects to the address that was checked (see ``pinned_request``): the URL
  is rewritten to the IP, the original host travels in the ``Host`` header and as the TLS
  SNI / certificate name, so a DNS answer that changes between check and connect (DNS
  rebinding) cannot redirect the request.  Redirects are never followed.

``OWNPAY_WEBHOOKS_ALLOW_PRIVATE=true`` lifts the address rule (local development, tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ownpay.urls import BadUrl, normalize_http_url, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
# Names that mean "this machine" or a metadata service whatever DNS says.
_BLOCKED_NAMES = ("localhost", "metadata.google.internal", "metadata", "instance-data")
_BLOCKED_SUFFIXES = (".localhost", ".internal", ".local")
# Metadata addresses that a future change to ``ipaddress`` must not let through.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL or the address it resolves to may not receive webhooks (message says why)."""


class UnresolvableHost(UnsafeUrl):
    """The host has no address (DNS failure or timeout): nothing to connect to."""


@dataclass(frozen=True)
class Target:
    """A URL whose host was resolved and checked: connect to ``address``, present ``host``."""

    url: str
    scheme: str
    host: str  # as written in the URL, lower-case, without brackets
    port: int
    address: IPAddress

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        ip = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = ip if parts.port is None else f"{ip}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not receive webhooks, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"{reason} (embedded in {ip})" if reason else None
    if ip in _METADATA:
        return "a cloud metadata address"
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    for hit, label in checks:
        if hit:
            return label
    return None


def is_blocked(ip: str | IPAddress) -> bool:
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    return blocked_reason(address) is not None


# Ends every refusal that OWNPAY_WEBHOOKS_ALLOW_PRIVATE lifts, so the developer testing a
# receiver on their own machine learns the setting (never for production).
PRIVATE_HINT = (" (For development, an operator can allow private and loopback addresses and "
                "internal host names with OWNPAY_WEBHOOKS_ALLOW_PRIVATE=true.)")


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def validate_url(url: str, *, mode: str, allow_private: bool) -> str:
    """Check an endpoint URL's shape (no DNS); returns it stripped.  Raises UnsafeUrl."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"The URL must be 1 to {MAX_URL_LENGTH} characters.")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UnsafeUrl("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("The URL is malformed (check the host and port).") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise UnsafeUrl("The URL must start with https:// (or http:// in test mode).")
    if mode == "live" and scheme != "https":
        raise UnsafeUrl("Live-mode endpoints must use https://.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("The URL must not contain credentials (user:password@).")
    if parts.fragment:
        raise UnsafeUrl("The URL must not contain a #fragment.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("The URL must include a host name.")
    if port == 0:
        raise UnsafeUrl("The URL's port must be between 1 and 65535.")
    try:  # one strict parse, ASCII (IDNA) host: what we check is what we will connect to
        url = normalize_http_url(url)
    except BadUrl as exc:
        raise UnsafeUrl(str(exc)) from None
    if not allow_private:
        _check_host_name((urlsplit(url).hostname or "").rstrip("."))
    return url


def _check_host_name(host: str) -> None:
    ip = _literal_ip(host)
    if ip is not None:
        reason = blocked_reason(ip)
        if reason:
            raise UnsafeUrl(f"The address {ip} is not allowed: it is {reason}.{PRIVATE_HINT}")
        return
    name = host.lower()
    if name in _BLOCKED_NAMES or name.endswith(_BLOCKED_SUFFIXES):
        raise UnsafeUrl(f"The host {host!r} is not allowed: it names a local or internal "
                        f"service.{PRIVATE_HINT}")
    if "." not in name:
        raise UnsafeUrl(f"The host {host!r} is not a fully qualified domain name."
                        f"{PRIVATE_HINT}")


async def resolve(url: str, *, allow_private: bool, dns_timeout: float = 5.0) -> Target:
    """Resolve the URL's host once and check every address it has.  Raises UnsafeUrl."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    if not host:
        raise UnsafeUrl("The URL has no host.")
    if not allow_private:
        _check_host_name(host)
    literal = _literal_ip(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        addresses = await _lookup(host, port, dns_timeout)
    if not allow_private:
        for address in addresses:
            reason = blocked_reason(address)
            if reason:
                # The address itself is not told: a merchant must not be able to map the
                # installation's internal DNS through error messages.
                kind = reason.split(" (")[0]
                raise UnsafeUrl(
                    f"{host} resolves to an address webhooks may not reach ({kind})."
                    + PRIVATE_HINT
                )
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


async def _lookup(host: str, port: int, dns_timeout: float) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(dns_timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise UnresolvableHost(f"DNS lookup of {host} timed out.") from None
    except OSError as exc:
        raise UnresolvableHost(f"DNS lookup of {host} failed: {exc.strerror or exc}.") from None
    found: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Strip an IPv6 zone id ("fe80::1%eth0"): the address itself decides.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UnresolvableHost(f"{host} has no IPv4 or IPv6 address.")
    # Prefer IPv4 when both exist: loopback test receivers and most hosts listen there.
    found.sort(key=lambda a: a.version)
    return found
