"""What the UddoktaPay and PipraPay facades share: APIs keyed by a bare header, switched on
per brand, that create a payment, verify it, and send its IPN to a per-payment URL.

* **Authentication**: ``merchants.auth.require_scope(scope, header)`` -- the same key table,
  rate limits, revocation and scopes as ``Authorization: Bearer`` (verify needs ``read``,
  create and refund need ``write``) -- then the brand's switch (``compat/switches.py``): off
  is answered exactly like a wrong key.
* **Creating**: the fields are translated into the OwnPay merchant API's and planned by its
  ``plan_payment`` (the payment-intents validator: exact decimals per currency, strict
  URLs, the gateway or the checkout's chooser), then ``payments.service.create_intent``
  inserts it with ``api`` set (the checkout appends ``invoice_id`` / ``pp_id``) and
  ``return_method`` (``return_type``); ``webhook_url`` becomes the payment's own endpoint in
  that API's scheme, holding the sealed key (``webhooks/callbacks.py``).  ``Idempotency-Key``
  is honoured as on our routes, one operation per facade.
* **Finding**: ``invoice_id`` / ``pp_id`` is the payment's UUID (``public_id``), looked up
  in the key's merchant and mode only: another brand's payment is "not found".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from fastapi import Depends, Request
from starlette.responses import Response

from ownpay.compat import switches
from ownpay.compat.ownpay_api import Plan, Refused, plan_payment
from ownpay.context import AppContext
from ownpay.errors import Unauthenticated
from ownpay.merchants.auth import Principal, presented_key, require_scope
from ownpay.payments import repository
from ownpay.payments import service as payments
from ownpay.payments.models import PaymentIntent
from ownpay.tenancy import TenantScope
from ownpay.web import idempotency
from ownpay.web.idempotency import Answer, Idempotency
from ownpay.webhooks import callbacks

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RETURN_TYPES = ("GET", "POST")


class Problem(Exception):
    """A request refused in a facade's terms: HTTP status and one message."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code, self.message = status_code, message


def principal_for(api: str, header: str,
                  scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the key in ``header`` with ``scope``, and the brand's ``api`` switch on
    for the key's mode -- else 401 exactly as for an unknown key."""

    # A default, not an Annotated hint: the hint would be a string (postponed annotations)
    # naming this closure's variables, which FastAPI cannot resolve.
    async def switched_on(request: Request,
                          principal: Principal = Depends(require_scope(scope, header)),  # noqa: B008
                          ) -> Principal:
        ctx: AppContext = request.app.state.ctx
        async with ctx.sessions() as session:
            on = await switches.is_enabled(session, principal.scope, api)
        if not on:
            raise Unauthenticated("The API key is not valid.")
        return principal

    switched_on.__name__ = f"{api}_{scope}"
    return switched_on


def text(body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    return None if isinstance(value, str) and not value.strip() else value


def string_field(body: dict[str, Any], name: str) -> str | None:
    """A field that must be a string if present (None when absent or blank)."""
    value = text(body, name)
    if value is not None and not isinstance(value, str):
        raise Problem(400, f"The {name} must be a string.")
    return value.strip() if isinstance(value, str) else None


def return_method(body: dict[str, Any]) -> str:
    value = text(body, "return_type")
    if value is None:
        return "GET"
    if not isinstance(value, str) or value.strip().upper() not in RETURN_TYPES:
        raise Problem(400, "The return_type must be GET or POST.")
    return value.strip().upper()


async def plan(ctx: AppContext, principal: Principal, fields: dict[str, Any],
               names: dict[str, str]) -> Plan:
    """Plan the payment from fields already named as the OwnPay merchant API names them
    (``plan_payment``'s checks); a refusal comes back as one message in the facade's names
    (``names``: OwnPay field → the facade's)."""
    try:
        return await plan_payment(ctx, principal, fields)
    except Refused as exc:
        _code, message, _field = exc.errors[0]
        for ours, theirs in sorted(names.items(), key=lambda kv: -len(kv[0])):
            message = message.replace(ours, theirs)
        status = 400 if exc.status_code == 422 else exc.status_code
        raise Problem(status, message) from None


@dataclass(frozen=True)
class Creation:
    api: str
    operation: str  # the Idempotency-Key operation
    return_method: str
    api_key: str


async def create(ctx: AppContext, principal: Principal, request: Request, raw: bytes,
                 planned: Plan, how: Creation, answer: Callable[[payments.CreatedIntent],
                                                                Answer],
                 idempotency_key: str | None) -> Response:
    """Create the payment once per ``Idempotency-Key`` and answer with ``answer``."""
    public_id = payments_public_id()

    async def insert(conn: Any) -> payments.CreatedIntent:
        new = planned.new if planned.new.order_id else replace(planned.new, order_id=public_id)
        created = await payments.create_intent(
            conn, ctx, principal, new, api=how.api, public_id=public_id,
            return_method=how.return_method if how.return_method == "POST" else None)
        if planned.callback_url is not None:
            await callbacks.add_endpoint(
                conn, principal.scope, payment_id=created.transaction_id,
                url=planned.callback_url, scheme=how.api, keyring=ctx.keyring,
                api_key=how.api_key)
        return created

    outcome = await idempotency.create_once(
        ctx, Idempotency.of(principal.scope, idempotency_key, raw, operation=how.operation),
        begin=ctx.engine.begin, create=insert, answer=answer)
    return Response(outcome.answer.body, status_code=outcome.answer.status_code,
                    media_type="application/json", headers=idempotency.replay_headers(outcome))


def payments_public_id() -> str:
    return str(uuid.uuid4())


def the_key(request: Request, header: str) -> str:
    """The key the request presented (already authenticated by the dependency)."""
    return presented_key(request, header)


async def find(session: Any, scope: TenantScope, value: Any) -> PaymentIntent | None:
    """A payment of the key's merchant and mode by its UUID; None for anything else."""
    if not isinstance(value, str):
        return None
    candidate = value.strip().lower()
    if not _UUID.fullmatch(candidate):
        return None
    return await repository.by_public_id(session, scope, candidate)
