"""Provider -> OwnPay webhooks: ``POST /gateways/{gateway}/webhooks/{merchant_slug}/{mode}``.

A thin route: read the raw body (bounded; signatures cover the exact bytes), hand it to
:func:`ownpay.gateways.inbound.receive`, answer JSON.  Errors use the API's envelope.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ownpay.context import AppContext
from ownpay.errors import json_response
from ownpay.gateways import inbound

router = APIRouter(include_in_schema=False)


async def _bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > inbound.MAX_BODY_BYTES:
        raise inbound.WebhookTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > inbound.MAX_BODY_BYTES:
            raise inbound.WebhookTooLarge()
    return bytes(body)


@router.post("/gateways/{gateway}/webhooks/{merchant_slug}/{mode}")
async def provider_webhook(
    gateway: str, merchant_slug: str, mode: str, request: Request
) -> Response:
    ctx: AppContext = request.app.state.ctx
    body = await _bounded_body(request)
    answer = await inbound.receive(
        ctx,
        gateway=gateway,
        merchant_slug=merchant_slug,
        mode=mode,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )
    return json_response(200, answer, {"Cache-Control": "no-store"})
