"""Requests routed by host: what a brand's domain serves (an ASGI middleware).

The host is the ``Host`` header, or ``X-Forwarded-Host`` when the connection comes from one
of ``OWNPAY_TRUSTED_PROXIES`` (``web/client.py``), normalised like a stored domain (ASCII,
lower-case, no port, no trailing dot), so ``PAY.Example.com.:443`` is ``pay.example.com``.

* The installation's own host (``OWNPAY_BASE_URL``'s), an IP address, a name that is no
  brand's domain, or a **pending** one: everything as before -- the operator's address.
  Such a host gains nothing here (the main address already serves everything), and a
  merchant cannot take an operator's alias away by adding it unproven.
* A **verified** brand domain serves that brand only: ``/checkout/{txn}…`` and
  ``/gateways/{g}/callback/{txn}…`` of the brand's own payments, ``/pay/{slug}…`` of its
  own links, ``/invoice/{token}…`` of its own invoices, ``/gateways/{g}/webhooks/{its
  slug}/…``, and the static assets.  Another
  brand's payment or link, and everything else (``/admin``, ``/docs``, ``/metrics``,
  ``/tls/ask``, the JSON API) is ``404``, the JSON API unless ``OWNPAY_API_ON_BRAND_DOMAINS``
  (and then only for the brand's own API keys, ``merchants/auth.py``).
* A **suspended** brand domain serves nothing (``404``): it no longer proves to be the
  brand's, so neither the brand's pages nor the operator's are shown under its name.

The brand of a host is cached for ``OWNPAY_AUTH_CACHE_TTL`` seconds per process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ownpay.context import AppContext
from ownpay.domains import service
from ownpay.errors import NotFound, error_response
from ownpay.invoices.models import Invoice
from ownpay.links.models import PaymentLink
from ownpay.payments.models import PaymentIntent
from ownpay.urls import BadUrl, ascii_domain
from ownpay.web.client import forwarded_host

BRAND_KEY = "brand_host"  # scope["state"][BRAND_KEY]: the merchant id of a brand domain
ASSETS = ("/assets/", "/checkout-assets/", "/brand-assets/")


def request_host(scope: Scope, trusted: tuple[str, ...]) -> str | None:
    """The host asked for, as a stored domain is written; None for an IP or a bad name."""
    raw = (forwarded_host(scope, trusted) or "").strip()
    if not raw or raw.startswith("["):
        return None
    name = raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw
    try:
        return ascii_domain(name)
    except BadUrl:
        return None


async def _owner_of_payment(ctx: AppContext, txn: str) -> int | None:
    async with ctx.sessions() as session:
        found = await session.scalar(select(PaymentIntent.merchant_id)
                                     .where(PaymentIntent.id == txn))
    return int(found) if found is not None else None


async def _owner_of_link(ctx: AppContext, slug: str) -> int | None:
    async with ctx.sessions() as session:
        found = await session.scalar(select(PaymentLink.merchant_id)
                                     .where(PaymentLink.slug == slug))
    return int(found) if found is not None else None


async def _owner_of_invoice(ctx: AppContext, token: str) -> int | None:
    token = token.removesuffix(".pdf")
    async with ctx.sessions() as session:
        found = await session.scalar(select(Invoice.merchant_id).where(Invoice.token == token))
    return int(found) if found is not None else None


async def serves(ctx: AppContext, brand: service.HostBrand, path: str) -> bool:
    """Whether a verified domain of ``brand`` serves ``path`` (the module docstring)."""
    if path.startswith(ASSETS):
        return True
    if path.startswith("/api/"):
        return ctx.settings.api_on_brand_domains
    parts = path.split("/")
    if len(parts) >= 3 and parts[1] == "checkout" and parts[2]:
        return await _owner_of_payment(ctx, parts[2]) == brand.merchant_id
    if len(parts) >= 3 and parts[1] == "pay" and parts[2]:
        return await _owner_of_link(ctx, parts[2]) == brand.merchant_id
    if len(parts) >= 3 and parts[1] == "invoice" and parts[2]:
        return await _owner_of_invoice(ctx, parts[2]) == brand.merchant_id
    if len(parts) >= 5 and parts[1] == "gateways" and parts[4]:
        if parts[3] == "callback":
            return await _owner_of_payment(ctx, parts[4]) == brand.merchant_id
        if parts[3] == "webhooks":
            return parts[4] == brand.merchant_slug
    return False


class BrandHosts:
    """The middleware of the module docstring, between the URL checks and the hand-off to
    the sub-applications.  ``not_found`` renders the pages' 404 (the checkout's own)."""

    def __init__(self, app: ASGIApp, *, ctx_of: Callable[[], AppContext],
                 not_found: Callable[[Request], Response]) -> None:
        self.app = app
        self.ctx_of = ctx_of
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = self.ctx_of()
        host = request_host(scope, ctx.settings.trusted_proxies)
        brand = None
        if host is not None and host != service.base_host(ctx.settings):
            brand = await service.brand_of_host(ctx, host)
        if brand is None or brand.status == "pending":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if brand.status == "verified" and await serves(ctx, brand, path):
            state: dict[str, Any] = scope.setdefault("state", {})
            state[BRAND_KEY] = brand.merchant_id
            await self.app(scope, receive, send)
            return
        response = (error_response(NotFound()) if path.startswith("/api/")
                    else self.not_found(Request(scope)))
        await response(scope, receive, send)
