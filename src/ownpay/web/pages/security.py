"""Content-Security-Policy with a fresh nonce per response, and the security headers every
page carries.  Origins that go into the policy are parsed and re-serialised here, so no
value from configuration or from a merchant can add a directive to the header."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.responses import Response


def origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, or None for anything else.  Only
    characters that cannot end a CSP source expression survive (no ``;``, ``,`` or space),
    and the host is made ASCII (IDNA) so the header stays Latin-1."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    if any(c in ascii_host for c in ";, '\"\\") or not ascii_host.isprintable():
        return None
    if ":" in ascii_host:  # an IPv6 literal
        ascii_host = f"[{ascii_host}]"
    return f"{parts.scheme}://{ascii_host}" + (f":{port}" if port else "")


def _sources(values: Iterable[str | None]) -> str:
    return " ".join(dict.fromkeys(o for o in (origin(v) for v in values) if o))


@dataclass
class Csp:
    """One response's policy.  Add origins with the ``allow_*`` methods."""

    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    forms: list[str | None] = field(default_factory=list)
    scripts: list[str | None] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)

    def allow_forms(self, *urls: str | None) -> Csp:
        self.forms.extend(urls)
        return self

    def allow_scripts(self, *urls: str | None) -> Csp:
        self.scripts.extend(urls)
        return self

    def allow_images(self, *urls: str | None) -> Csp:
        self.images.extend(urls)
        return self

    def header(self) -> str:
        # form-action must allow where our POSTs redirect to (e.g. the merchant's return
        # URL): browsers apply it to redirects that follow a form submission.
        scripts = _sources(self.scripts)
        return "; ".join([
            "default-src 'none'",
            f"script-src 'self' 'nonce-{self.nonce}' {scripts}".strip(),
            f"style-src 'self' 'nonce-{self.nonce}'",
            f"img-src 'self' data: {_sources(self.images)}".strip(),
            f"connect-src 'self' {scripts}".strip(),
            f"frame-src {scripts}" if scripts else "frame-src 'none'",
            "font-src 'self'",
            f"form-action 'self' {_sources(self.forms)}".strip(),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ])


HSTS = "max-age=31536000; includeSubDomains"


def apply_security_headers(response: Response, csp: Csp, *, https: bool) -> None:
    response.headers["Content-Security-Policy"] = csp.header()
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if https:
        response.headers["Strict-Transport-Security"] = HSTS
