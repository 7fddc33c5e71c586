"""Rendering hosted pages safely: Jinja2 autoescape, a per-response CSP nonce, security
headers, CSRF tokens, and brand styling with readable contrast."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response

from ownpay.security import Keyring

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
CSRF_COOKIE = "op_csrf"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# CommonMark without raw HTML; markdown-it refuses javascript:/data: links itself.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))  # noqa: S704 - raw HTML disabled above


_env.filters["markdown"] = markdown


def origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def brand(primary_color: str | None) -> dict[str, str]:
    """Primary colour plus black or white text, whichever contrasts more (WCAG)."""
    color = primary_color or "#4f46e5"
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return {"primary": color, "on_primary": "#ffffff" if on_white >= on_black else "#000000"}


def csrf_nonce(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie value (created when missing)."""
    value = request.cookies.get(CSRF_COOKIE, "")
    if len(value) == 32 and value.isalnum():
        return value, False
    return secrets.token_hex(16), True


def csrf_token(keyring: Keyring, cookie: str, transaction_id: str) -> str:
    return keyring.sign(f"csrf:{transaction_id}:{cookie}".encode())


def csrf_ok(keyring: Keyring, request: Request, transaction_id: str, token: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not token or len(cookie) != 32:
        return False
    return keyring.verify(f"csrf:{transaction_id}:{cookie}".encode(), token)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    keyring: Keyring | None = None,
    transaction_id: str | None = None,
    form_targets: tuple[str | None, ...] = (),
    script_origins: tuple[str, ...] = (),
    image_origins: tuple[str | None, ...] = (),
) -> Response:
    nonce = secrets.token_urlsafe(16)
    cookie, new_cookie = csrf_nonce(request)
    csrf = csrf_token(keyring, cookie, transaction_id) if keyring and transaction_id else ""
    html = _env.get_template(template).render(
        **context, csp_nonce=nonce, csrf_token=csrf, static=lambda p: f"/checkout-assets/{p}"
    )
    response = HTMLResponse(html, status_code=status_code)
    apply_security_headers(
        response, nonce=nonce, form_targets=form_targets, script_origins=script_origins,
        image_origins=image_origins,
    )
    if new_cookie and csrf:
        response.set_cookie(
            CSRF_COOKIE, cookie, httponly=True, samesite="lax", path="/",
            secure=request.url.scheme == "https",
        )
    return response


def apply_security_headers(
    response: Response,
    *,
    nonce: str,
    form_targets: tuple[str | None, ...] = (),
    script_origins: tuple[str, ...] = (),
    image_origins: tuple[str | None, ...] = (),
) -> None:
    # form-action must allow where our POSTs redirect to (the merchant's return/cancel
    # URL): browsers apply it to redirects that follow a form submission.
    forms = " ".join(dict.fromkeys(o for o in (origin(t) for t in form_targets) if o))
    scripts = " ".join(script_origins)
    images = " ".join(dict.fromkeys(o for o in (origin(u) for u in image_origins) if o))
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}' {scripts}".strip(),
            f"style-src 'self' 'nonce-{nonce}'",
            f"img-src 'self' data: {images}".strip(),
            f"connect-src 'self' {scripts}".strip(),
            f"frame-src {scripts}".strip() if scripts else "frame-src 'none'",
            "font-src 'self'",
            f"form-action 'self' {forms}".strip(),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
