"""Whether a domain is the brand's and points at us, asked of DNS with ``dnspython``.

Two facts make a domain verified:

* the TXT record ``_ownpay-verification.<domain>`` holds the domain's token (one of the
  record's strings, or its strings joined, equals it): only someone who controls the
  domain's zone can put it there;
* every address the domain resolves to (A and AAAA, following a CNAME chain) is one of the
  installation's ``OWNPAY_PUBLIC_ADDRESSES``, and there is at least one: customers sent
  there reach this installation and nobody else.

The resolver asks ``OWNPAY_DNS_NAMESERVERS`` when set (tests point it at a DNS server on
loopback), else the system's resolvers; each lookup is bounded by ``OWNPAY_DNS_TIMEOUT``.
A check never raises: it answers :class:`Check` with the reason it failed, in words an
operator can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from ownpay.config import Settings

TXT_PREFIX = "_ownpay-verification."


@dataclass(frozen=True)
class Check:
    ok: bool
    error: str | None = None


def txt_name(domain: str) -> str:
    return TXT_PREFIX + domain


def _resolver(settings: Settings) -> dns.asyncresolver.Resolver:
    if settings.dns_nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        servers: list[str | dns.nameserver.Nameserver] = []
        for entry in settings.dns_nameservers:
            host, _, port = entry.rpartition(":")
            servers.append(dns.nameserver.Do53Nameserver(host.strip("[]"), int(port)))
        resolver.nameservers = servers
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.timeout = settings.dns_timeout
    resolver.lifetime = settings.dns_timeout
    resolver.cache = None
    return resolver


def _why(name: str, exc: Exception) -> str:
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return f"{name} does not exist in DNS."
    if isinstance(exc, dns.resolver.NoAnswer):
        return f"{name} has no record of that type."
    if isinstance(exc, dns.exception.Timeout):
        return f"DNS did not answer for {name} in time."
    if isinstance(exc, dns.resolver.NoNameservers):
        return f"No DNS server could answer for {name}."
    return f"DNS lookup of {name} failed."


async def _strings(resolver: dns.asyncresolver.Resolver, name: str) -> list[str]:
    answer = await resolver.resolve(name, "TXT", search=False)
    out: list[str] = []
    for record in answer:
        parts = [bytes(s).decode("utf-8", "replace") for s in record.strings]
        out.extend(parts)
        out.append("".join(parts))
    return out


async def _addresses(resolver: dns.asyncresolver.Resolver, domain: str) -> set[str]:
    found: set[str] = set()
    errors: list[Exception] = []
    for kind in ("A", "AAAA"):
        try:
            answer = await resolver.resolve(domain, kind, search=False)
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN) as exc:
            errors.append(exc)
            continue
        found.update(str(ip_address(r.to_text())) for r in answer)
    if not found and errors:
        raise errors[0]
    return found


async def check(settings: Settings, domain: str, token: str) -> Check:
    """Both facts of the module docstring, for ``domain`` (ASCII) and its ``token``."""
    allowed = {str(ip_address(a)) for a in settings.public_addresses}
    if not allowed:
        return Check(False, "The installation has no OWNPAY_PUBLIC_ADDRESSES configured, "
                            "so no domain can be verified.")
    resolver = _resolver(settings)
    name = txt_name(domain)
    try:
        strings = await _strings(resolver, name)
    except Exception as exc:  # noqa: BLE001 - every DNS failure is a reason, never a crash
        return Check(False, _why(name, exc) + f" Create a TXT record {name} with the token.")
    if token not in strings:
        return Check(False, f"The TXT record {name} does not contain this domain's token.")
    try:
        addresses = await _addresses(resolver, domain)
    except Exception as exc:  # noqa: BLE001
        return Check(False, _why(domain, exc) + " Point it (A/AAAA or CNAME) at this "
                            "installation.")
    if not addresses:
        return Check(False, f"{domain} resolves to no address.")
    stray = sorted(addresses - allowed)
    if stray:
        return Check(False, f"{domain} resolves to {', '.join(stray)}, which is not this "
                            "installation's address.")
    return Check(True)
