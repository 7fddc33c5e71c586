"""Provider -> OwnPay webhooks: ``POST /gateways/{gateway}/webhooks/{merchant_slug}/{mode}``.

A thin route: read the raw body (bounded; signatures cover the exact bytes), hand it to
:func:`ownpay.provider_events.service.receive`, answer JSON.  Errors use the API's envelope.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ownpay.errors import RateLimited, WebhookTooLarge, json_response
from ownpay.provider_events import service as inbound
from ownpay.web.body import read_bounded
from ownpay.web.client import client_ip
from ownpay.web.deps import app_context

router = APIRouter(include_in_schema=False)


@router.post("/gateways/{gateway}/webhooks/{merchant_slug}/{mode}")
async def provider_webhook(
    gateway: str, merchant_slug: str, mode: str, request: Request
) -> Response:
    ctx = app_context(request)
    refused = await ctx.rate_limiter.hit(
        "provider_webhook_ip", client_ip(request.scope, ctx.settings.trusted_proxies))
    if refused is not None:
        raise RateLimited(headers=refused.headers())
    body = await read_bounded(request, limit=WebhookTooLarge.limit, too_large=WebhookTooLarge())
    answer = await inbound.receive(
        ctx,
        gateway=gateway,
        merchant_slug=merchant_slug,
        mode=mode,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )
    return json_response(200, answer, {"Cache-Control": "no-store"})
