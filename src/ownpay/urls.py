"""Absolute http(s) URLs from the outside world (return and cancel URLs, a brand's base and
logo URLs), parsed once, strictly, and re-serialised.

Python's ``urlsplit`` and browsers (the WHATWG URL standard) disagree on some inputs --
``https://shop.example\\@evil.example/`` is a URL *of shop.example* to Python and *of
evil.example* to a browser -- so what we accept is what both read the same way:

* scheme ``http`` or ``https``; no spaces, control characters or backslashes anywhere;
* no ``user:password@`` (credentials in a redirect target are a phishing device);
* a host that is a DNS name (made ASCII with IDNA 2008 / UTS #46: ``例え.jp`` becomes
  ``xn--r8jz45g.jp``, so every header and page can carry it), an IPv4 address, or a
  bracketed IPv6 address;
* an optional port of 1 to 65535, digits only.

The URL is given back with the ASCII host; path, query and fragment are kept as sent
(non-ASCII characters in them percent-encoded, as a browser sends them).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit, urlunsplit

import idna

MAX_LENGTH = 2048
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Characters that may stay literal in path, query and fragment (what a browser keeps).
_SAFE = "/?#[]@!$&'()*+,;=:%-._~"


class BadUrl(ValueError):
    """Why the URL is refused (a sentence for the caller)."""


def _ascii_host(host: str) -> str:
    if host.startswith("["):
        inner = host[1:-1] if host.endswith("]") else ""
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise BadUrl("The URL's host is not a valid IPv6 address.") from None
        return f"[{inner.lower()}]"  # as written: valid, and ASCII already
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii") if not name.isascii() \
            else name
    except idna.IDNAError:
        raise BadUrl("The URL's host is not a valid domain name.") from None
    labels = ascii_name.split(".")
    if not ascii_name or len(ascii_name) > 253 or not all(_LABEL.match(x) for x in labels):
        raise BadUrl("The URL's host is not a valid domain name.")
    if all(label.isdigit() for label in labels):
        raise BadUrl("The URL's host is not a valid domain name or IP address.")
    return ascii_name


def ascii_domain(value: str) -> str:
    """A host name of at least two labels as it travels in DNS and ``Host`` headers: ASCII
    (IDNA as above), lower-case, without a trailing dot; BadUrl for anything else -- an IP
    address, a single label (``localhost``), control characters, lone surrogates."""
    text = value.strip()
    if not text or len(text) > 253 * 4:
        raise BadUrl("The domain must be 1 to 253 characters.")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF
           for c in text):
        raise BadUrl("The domain must not contain spaces or control characters.")
    if ":" in text or text.startswith("["):
        raise BadUrl("The domain must be a host name, not an IP address or a URL.")
    with_dot = text.rstrip(".")
    try:
        ipaddress.IPv4Address(with_dot)
    except ValueError:
        pass
    else:
        raise BadUrl("The domain must be a host name, not an IP address or a URL.")
    try:
        name = _ascii_host(text)
    except (BadUrl, UnicodeError):
        raise BadUrl("The domain is not a valid host name.") from None
    if "." not in name:
        raise BadUrl("The domain must have at least two labels, e.g. pay.example.com.")
    return name


def normalize_http_url(value: str) -> str:
    """The URL, checked and re-serialised (see the module docstring); BadUrl otherwise."""
    text = value.strip()
    if not text or len(text) > MAX_LENGTH:
        raise BadUrl(f"The URL must be 1 to {MAX_LENGTH} characters.")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise BadUrl("The URL must not contain spaces or control characters.")
    if "\\" in text:
        raise BadUrl("The URL must not contain backslashes.")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise BadUrl("The URL is malformed.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not text[len(scheme):].startswith("://"):
        raise BadUrl("The URL must be an absolute http(s) URL.")
    authority = parts.netloc
    if "@" in authority:
        raise BadUrl("The URL must not contain credentials (user:password@).")
    host, port = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise BadUrl("The URL's host is not a valid IPv6 address.")
        host, rest = authority[: end + 1], authority[end + 1:]
        if rest and not rest.startswith(":"):
            raise BadUrl("The URL is malformed.")
        port = rest[1:]
    elif ":" in authority:
        host, port = authority.rsplit(":", 1)
    if not host:
        raise BadUrl("The URL must include a host name.")
    if port or authority.endswith(":"):
        if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise BadUrl("The URL's port must be a number from 1 to 65535.")
        port = str(int(port))
    netloc = _ascii_host(host) + (f":{port}" if port else "")
    return urlunsplit((scheme, netloc, quote(parts.path, safe=_SAFE),
                       quote(parts.query, safe=_SAFE), quote(parts.fragment, safe=_SAFE)))


def same_origin(url: str) -> str:
    """``url``'s path and query alone, so that a redirect stays on the host the request
    came to (a page served on several hosts: the main address and a brand's domains)."""
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path or "/", parts.query, ""))
