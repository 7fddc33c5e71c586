"""Checkout flows: what the hosted page shows and what the customer's actions do.

Database transactions never span a provider call: read the payment, ask the gateway
(no transaction open), then apply the verified result in a short transaction whose
compare-and-set makes double clicks and repeated callbacks harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog
from sqlalchemy import and_, select

from ownpay import ids
from ownpay.checkout.outcomes import LastChange
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.gateways import registry
from ownpay.gateways.base import (
    CheckoutView,
    Gateway,
    GatewayContext,
    GatewayError,
    Outcome,
    VerifiedResult,
)
from ownpay.merchants.accounts import gateway_context
from ownpay.merchants.models import GatewayAccount, Merchant
from ownpay.payments import methods, states
from ownpay.payments import repository as payment_rows
from ownpay.payments import service as payments
from ownpay.payments.expiry import expire_overdue
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from ownpay.sms import matching as sms_matching

log = structlog.get_logger("ownpay.checkout")


class CheckoutNotFound(Exception):
    """Unknown or malformed payment link (the page reveals nothing more)."""


@dataclass(frozen=True)
class Loaded:
    intent: PaymentIntent
    merchant: Merchant
    adapter: Gateway | None
    # What the customer sees as the payment method: the merchant's name for its gateway
    # account (``--display-name`` / the ``display_name`` setting), else the gateway's own.
    gateway_name: str = ""

    @property
    def method_name(self) -> str:
        if self.gateway_name:
            return self.gateway_name
        return self.adapter.display_name if self.adapter else self.intent.gateway


# The outcome each creating API's clients read on the return URL (``payment_intents.api``):
# (parameter, the intent's attribute -- or STATUS for the outcome itself).  A new facade is a
# new row here, not a new branch.
STATUS = "<status>"
RESULT_PARAMS: dict[str | None, tuple[tuple[str, str], ...]] = {
    None: (("transaction_id", "id"), ("order_id", "order_id"), ("status", STATUS)),
    "ownpay": (("payment_id", "public_id"), ("status", STATUS)),  # its WHMCS module, SDKs
    "uddoktapay": (("invoice_id", "public_id"),),
    "piprapay": (("pp_id", "public_id"),),
}
POST = "POST"  # payment_intents.return_method: go back with a posted form


def result_params(intent: PaymentIntent, status: str) -> dict[str, str]:
    """The outcome as the payment's creating API tells it (see ``RESULT_PARAMS``)."""
    wanted = RESULT_PARAMS.get(intent.api, RESULT_PARAMS[None])
    return {name: status if attr == STATUS else str(getattr(intent, attr) or "")
            for name, attr in wanted}


def with_result_params(url: str, intent: PaymentIntent, status: str) -> str:
    """Append the outcome to a URL, merging with its query: transaction_id, order_id and
    status for a payment intent; payment_id and status for a payment of the OwnPay merchant
    API (what its WHMCS module and SDKs read); invoice_id (UddoktaPay) or pp_id (PipraPay)
    for theirs."""
    parts = urlsplit(url)
    ours = result_params(intent, status)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    query.extend(ours.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def return_url_for(intent: PaymentIntent) -> str:
    """Where the customer goes back: the merchant's return URL with the outcome, or -- for
    a ``return_type`` POST payment -- our page that posts the outcome to it."""
    if intent.return_method == POST:
        return f"/checkout/{intent.id}/back"
    return with_result_params(intent.return_url, intent, intent.status)


def cancel_url_for(intent: PaymentIntent) -> str:
    if intent.cancel_url:
        return with_result_params(intent.cancel_url, intent, "cancelled")
    return with_result_params(intent.return_url, intent, "cancelled")


async def load(ctx: AppContext, transaction_id: str, *, expire: bool = True) -> Loaded:
    """The payment behind a link.  An overdue pending one is settled on the spot the way the
    worker does it (``payments.expire_overdue``: the provider is asked, and its object
    cancelled, before the payment expires); while the provider cannot be asked it stays
    pending -- no longer payable -- and the page says so."""
    if not ids.is_transaction_id(transaction_id):
        raise CheckoutNotFound()
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(PaymentIntent, Merchant, GatewayAccount.display_name)
                .join(Merchant, Merchant.id == PaymentIntent.merchant_id)
                .outerjoin(GatewayAccount, and_(
                    GatewayAccount.merchant_id == PaymentIntent.merchant_id,
                    GatewayAccount.mode == PaymentIntent.mode,
                    GatewayAccount.gateway == PaymentIntent.gateway,
                ))
                .where(PaymentIntent.id == transaction_id)
            )
        ).first()
    if row is None:
        raise CheckoutNotFound()
    intent, merchant, gateway_name = row
    if expire and intent.status == states.PENDING and intent.expires_at <= utcnow():
        intent = await expire_overdue(ctx, intent, actor="checkout")
    if expire and intent.status == states.PENDING:
        intent = await _unless_order_paid(ctx, intent)
    return Loaded(intent=intent, merchant=merchant, adapter=registry.get(intent.gateway),
                  gateway_name=gateway_name or "")


async def _unless_order_paid(ctx: AppContext, intent: PaymentIntent) -> PaymentIntent:
    """A customer never starts paying an order another payment already paid: this link is
    cancelled (the merchant gets ``payment.cancelled`` with the reason)."""
    async with ctx.sessions() as session, session.begin():
        others = await payments.order_paid_elsewhere(session, intent)
        if not others:
            return intent
        moved = await payments.transition(
            session, payment_id=intent.id, merchant_id=intent.merchant_id,
            expected=states.PENDING, to=states.CANCELLED, actor="checkout",
            reason=f"{payments.ORDER_ALREADY_PAID_REASON} ({', '.join(others)})",
        )
        return moved or await payment_rows.reload(session, intent)


async def last_change(ctx: AppContext, intent: PaymentIntent) -> LastChange | None:
    """Who moved the payment to its current status, and why (its last history row)."""
    async with ctx.sessions() as session:
        rows = await payment_rows.history(session, intent)
    return LastChange(actor=rows[-1].actor, reason=rows[-1].reason) if rows else None


def awaits_method(intent: PaymentIntent) -> bool:
    """Created without a payment method: the customer chooses one first."""
    return intent.gateway == methods.UNCHOSEN and is_payable(intent)


async def offered_methods(ctx: AppContext, intent: PaymentIntent) -> list[methods.Method]:
    async with ctx.sessions() as session:
        return await methods.available(session, intent.scope, intent.amount_minor,
                                       intent.currency)


async def choose_method(ctx: AppContext, intent: PaymentIntent, gateway: str) -> bool:
    async with ctx.sessions() as session, session.begin():
        chosen = await methods.choose(session, intent, gateway)
    if chosen:
        log.info("payment_method_chosen", payment_id=intent.id, gateway=gateway)
    return chosen


def is_payable(intent: PaymentIntent, now: datetime | None = None) -> bool:
    return intent.status == states.PENDING and intent.expires_at > (now or utcnow())


async def start(ctx: AppContext, loaded: Loaded) -> CheckoutView:
    """The gateway's part of the page (may raise GatewayError / GatewayNotFound)."""
    assert loaded.adapter is not None  # noqa: S101 - checked by the caller
    gctx, slug = await _gateway(ctx, loaded.intent)
    view = await loaded.adapter.start_checkout(gctx, payment_view(loaded.intent, slug))
    if view.provider_reference and view.provider_reference != loaded.intent.provider_reference:
        await _apply(ctx, loaded.intent.id, VerifiedResult(
            outcome=Outcome.PENDING, provider_reference=view.provider_reference,
        ), actor=f"gateway:{loaded.intent.gateway}")
    return view


async def _gateway(ctx: AppContext, intent: PaymentIntent) -> tuple[GatewayContext, str]:
    gctx, account = await gateway_context(ctx, intent.scope, intent.gateway,
                                          transaction_id=intent.id)
    return gctx, account.merchant_slug


async def _apply(ctx: AppContext, transaction_id: str, result: VerifiedResult, *,
                 actor: str) -> PaymentIntent:
    async with ctx.sessions() as session, session.begin():
        intent = await payment_rows.reload_by_id(session, transaction_id)
        return await payments.apply_result(session, intent, result, actor=actor)


async def submit(ctx: AppContext, loaded: Loaded,
                 form: dict[str, str]) -> tuple[PaymentIntent, VerifiedResult]:
    """The customer submitted the gateway's form on our page."""
    assert loaded.adapter is not None  # noqa: S101
    gctx, slug = await _gateway(ctx, loaded.intent)
    result = await loaded.adapter.submit(gctx, payment_view(loaded.intent, slug), form)
    provider = loaded.adapter.sms_provider
    async with ctx.sessions() as session, session.begin():
        if provider and result.provider_txn_id:
            await sms_matching.hold(session, loaded.intent.mode, provider,
                                    result.provider_txn_id)
        intent = await payment_rows.reload_by_id(session, loaded.intent.id)
        intent = await payments.apply_result(session, intent, result,
                                             actor=f"customer via {loaded.intent.gateway}")
        # A wallet SMS with this transaction id may be here already (sms/matching.py).
        if provider and await sms_matching.match_submission(
                session, intent, now=utcnow()):
            await session.refresh(intent)
    return intent, result


async def verify_return(ctx: AppContext, loaded: Loaded,
                        params: dict[str, str]) -> tuple[PaymentIntent, VerifiedResult]:
    """The customer came back from the provider: ask the provider, then act."""
    assert loaded.adapter is not None  # noqa: S101
    gctx, slug = await _gateway(ctx, loaded.intent)
    result = await loaded.adapter.verify_return(gctx, payment_view(loaded.intent, slug), params)
    if result.outcome is Outcome.AUTHORIZED and loaded.adapter.supports_capture:
        return await _capture_once(ctx, loaded, gctx, slug, result)
    intent = await _apply(ctx, loaded.intent.id, result, actor=f"gateway:{loaded.intent.gateway}")
    return intent, result


async def _capture_once(
    ctx: AppContext, loaded: Loaded, gctx: GatewayContext, slug: str, authorized: VerifiedResult
) -> tuple[PaymentIntent, VerifiedResult]:
    """Claim the payment (pending -> processing) and capture it; only the claimant captures.

    A duplicated callback loses the claim and does nothing.  If the capture call fails
    ambiguously, the provider is asked for the status instead of capturing again; if that
    fails too the payment stays ``processing`` and the worker's reconciliation settles it.
    """
    assert loaded.adapter is not None  # noqa: S101
    actor = f"gateway:{loaded.intent.gateway}"
    async with ctx.sessions() as session, session.begin():
        claimed = await payments.transition(
            session, payment_id=loaded.intent.id, merchant_id=loaded.intent.merchant_id,
            expected=states.PENDING, to=states.PROCESSING, actor=actor,
            reason=authorized.reason or "authorised at the provider; capturing",
            values={"provider_reference": authorized.provider_reference}
            if authorized.provider_reference else None,
            only_if_unexpired_at=utcnow(),  # an expired link is never captured
        )
    if claimed is None:
        async with ctx.sessions() as session:
            current = await session.get(PaymentIntent, loaded.intent.id)
        assert current is not None  # noqa: S101
        return current, authorized
    view = payment_view(claimed, slug)
    try:
        result = await loaded.adapter.capture(gctx, view)
    except GatewayError as exc:
        log.warning("capture_ambiguous", payment_id=claimed.id, error=str(exc))
        try:
            result = await loaded.adapter.query_status(gctx, view)
        except GatewayError as exc2:
            log.warning("status_query_failed", payment_id=claimed.id, error=str(exc2))
            result = VerifiedResult(outcome=Outcome.UNKNOWN,
                                    reason=f"capture outcome unknown: {exc}")
    intent = await _apply(ctx, claimed.id, result, actor=actor)
    return intent, result


async def cancel(ctx: AppContext, loaded: Loaded) -> PaymentIntent:
    async with ctx.sessions() as session, session.begin():
        moved = await payments.transition(
            session, payment_id=loaded.intent.id, merchant_id=loaded.intent.merchant_id,
            expected=states.PENDING, to=states.CANCELLED, actor="customer",
            reason="customer cancelled on the checkout page",
        )
        if moved is not None:
            return moved
        intent = await session.get(PaymentIntent, loaded.intent.id)
        assert intent is not None  # noqa: S101
        return intent


async def retry(ctx: AppContext, loaded: Loaded) -> PaymentIntent:
    async with ctx.sessions() as session, session.begin():
        moved = await payments.retry(session, loaded.intent, now=utcnow())
        if moved is not None:
            return moved
        intent = await session.get(PaymentIntent, loaded.intent.id)
        assert intent is not None  # noqa: S101
        return intent


def status_json(intent: PaymentIntent) -> dict[str, Any]:
    from ownpay.timefmt import iso

    body: dict[str, Any] = {
        "transaction_id": intent.id,
        "status": intent.status,
        "expires_at": iso(intent.expires_at),
    }
    if intent.status in (states.COMPLETED, states.EXPIRED, states.FAILED, states.CANCELLED):
        body["return_url"] = (
            cancel_url_for(intent) if intent.status == states.CANCELLED else return_url_for(intent)
        )
    return body
