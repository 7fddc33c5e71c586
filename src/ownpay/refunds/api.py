"""Creating a refund from an HTTP request, for every API that offers it (ours and the
compatibility facades): the request's ``Idempotency-Key`` around the reservation (with its
audit row), then the gateway call with no transaction open.  Each API renders the refund in
its own shape through ``answer``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.responses import Response

from ownpay.context import AppContext
from ownpay.merchants.auth import Principal
from ownpay.refunds import flows
from ownpay.refunds.models import Refund
from ownpay.web import idempotency
from ownpay.web.deps import api_actor, unit_of_work
from ownpay.web.idempotency import Answer, Idempotency

JSON = "application/json"


async def create(request: Request, ctx: AppContext, principal: Principal,
                 plan: flows.RefundPlan, *, raw: bytes, idempotency_key: str | None,
                 operation: str, answer: Callable[[Refund], Answer],
                 replayed: Callable[[Answer], Awaitable[Answer]] | None = None) -> Response:
    """Reserve once per key, send, and answer; a replay answers what was stored (or, with
    ``replayed``, the refund as it stands now)."""
    actor = f"merchant:key:{principal.api_key_id}"
    audited = api_actor(request, principal)
    outcome = await idempotency.create_once(
        ctx, Idempotency.of(principal.scope, idempotency_key, raw, operation=operation),
        prepare=plan.load,
        begin=lambda: unit_of_work(ctx),
        create=lambda session: flows.reserve(session, plan, actor=actor, audited=audited),
        answer=answer,
        **({"replayed": replayed} if replayed is not None else {}),
    )
    if outcome.replayed or outcome.created is None:
        return Response(outcome.answer.body, status_code=outcome.answer.status_code,
                        media_type=JSON, headers=idempotency.replay_headers(outcome))
    final = answer(await flows.send(ctx, outcome.created.id, actor=actor))
    return Response(final.body, status_code=final.status_code, media_type=JSON)
