"""The test ping: the one outbound webhook call made on a request path."""

from __future__ import annotations

import secrets as random
import time
from typing import Any

import orjson

from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso_required
from ownpay.webhooks import service
from ownpay.webhooks.delivery.transport import ClientPool, post_signed
from ownpay.webhooks.signing import sign_headers


async def send_test_ping(
    ctx: AppContext, *, scope: TenantScope, endpoint_id: str
) -> dict[str, Any]:
    """POST a signed ``test.ping`` to the endpoint now and report the receiver's answer.

    Nothing is stored and no database connection is held while the request is in flight.
    """
    now = utcnow()
    async with ctx.sessions() as session:
        endpoint = await service.get_endpoint(
            session, scope=scope, endpoint_id=endpoint_id
        )
        secrets = service.active_secrets(ctx.keyring, endpoint, now=now)
    delivery_id = service.new_delivery_id()
    body = orjson.dumps({
        "id": "evt_" + random.token_hex(12), "event": "test.ping", "endpoint_id": endpoint.id,
        "mode": scope.mode, "created_at": iso_required(now),
    })
    headers = sign_headers(secrets, event_type="test.ping", delivery_id=delivery_id, body=body,
                           timestamp=int(time.time()), scheme=endpoint.scheme)
    pool = ClientPool(ctx.settings)
    try:
        result = await post_signed(pool, ctx.settings, url=endpoint.url, body=body, headers=headers)
    finally:
        await pool.aclose()
    return {
        "endpoint_id": endpoint.id,
        "delivery_id": delivery_id,
        "event": "test.ping",
        "success": result.success,
        "status_code": result.status_code,
        "duration_ms": result.duration_ms,
        "response_body": result.response_body,
        "error": result.error,
    }
