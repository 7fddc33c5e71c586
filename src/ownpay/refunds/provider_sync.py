"""Refunds the provider reports (its webhooks): the provider's list of a payment's refunds
is the truth.

One of ours it reports settled is settled here; one nobody sent through OwnPay (made in the
provider's dashboard) becomes a refund record of ours, created by ``provider``, with the
payment's status, event and ledger journal -- under the payment's row lock, once per
provider refund id, however often and however concurrently the provider reports it.
"""

from __future__ import annotations

import structlog

from ownpay import money
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.gateways import registry
from ownpay.gateways.base import GatewayError, Outcome, ProviderRefund, RefundResult
from ownpay.merchants.accounts import gateway_context
from ownpay.payments import refunding, states
from ownpay.payments import repository as payment_rows
from ownpay.payments.attention import ATTENTION, flag_for_operator
from ownpay.payments.presenters import payment_view
from ownpay.refunds import repository, steps
from ownpay.refunds.flows import lease, record_outcome
from ownpay.refunds.models import Refund, new_refund_id
from ownpay.refunds.states import PENDING, PROCESSING

log = structlog.get_logger("ownpay.refunds")

PROVIDER_ACTOR = "provider"  # refunds made at the provider, outside OwnPay


class ProviderRefundsDeferred(GatewayError):
    """The provider's refunds cannot be booked yet; the provider's event stays unprocessed
    (the webhook is answered 503) so the provider sends it again later."""


async def sync_provider_refunds(ctx: AppContext, payment_id: str, *, actor: str) -> str:
    """Re-list the payment's refunds at its provider and bring our books in line.

    Returns a summary for the provider event's row.  Raises GatewayError (or
    :class:`ProviderRefundsDeferred`) when it must be tried again later."""
    async with ctx.sessions() as session:
        payment = await payment_rows.reload_by_id(session, payment_id)  # found by the caller
    adapter = registry.get(payment.gateway)
    if adapter is None or not adapter.supports_refund_listing:
        return "recorded only (this gateway cannot list its refunds)"
    gctx, account = await gateway_context(ctx, payment.scope, payment.gateway,
                                          transaction_id=payment.id)
    listed = await adapter.list_refunds(gctx, payment_view(payment, account.merchant_slug))
    async with ctx.sessions() as session:
        ours = await repository.of_payment(session, payment_id)
    by_id = {r.id: r for r in ours}
    by_provider_id = {r.provider_refund_id: r for r in ours if r.provider_refund_id}
    notes: list[str] = []
    outside: list[ProviderRefund] = []
    for item in listed:
        mine = by_id.get(item.refund_id or "") or by_provider_id.get(item.provider_refund_id)
        if mine is None:
            if item.outcome in (Outcome.SUCCEEDED, Outcome.PROCESSING):
                outside.append(item)
            continue
        if mine.status != PENDING:
            continue
        final = item.outcome in (Outcome.SUCCEEDED, Outcome.FAILED)
        if final or (item.outcome is Outcome.PROCESSING and mine.stage != PROCESSING):
            after = await record_outcome(ctx, mine.id, RefundResult(
                outcome=item.outcome, provider_refund_id=item.provider_refund_id,
                reason=item.reason,
            ), actor=actor)
            notes.append(f"refund {mine.id} {after.status}")
    for item in reversed(outside):  # the provider lists newest first; book oldest first
        notes.append(await _book_provider_refund(ctx, payment_id, item))
    return "; ".join(notes) or "nothing to book"


async def _book_provider_refund(ctx: AppContext, payment_id: str, item: ProviderRefund) -> str:
    """Record a refund made at the provider (once per provider refund id)."""
    pid = item.provider_refund_id
    now = utcnow()
    async with ctx.sessions() as session, session.begin():
        payment = await refunding.lock_for_refund(session, payment_id)
        booked = await repository.by_provider_refund_id(session, payment_id, pid)
        if booked is not None:
            return f"provider refund {pid} already booked as {booked.id}"
        amount = item.amount_minor
        if amount is None or amount <= 0 or item.currency.upper() != payment.currency:
            log.error("provider_refund_unbookable", payment_id=payment_id,
                      provider_refund_id=pid, currency=item.currency, amount_minor=amount)
            flag_for_operator(None, gateway=payment.gateway, kind="refund_not_booked")
            return (f"{ATTENTION}provider refund {pid} ({amount} {item.currency}) cannot be "
                    f"booked against a {payment.currency} payment")
        shown = f"{money.to_major(amount, payment.currency)} {payment.currency}"
        if payment.status in (states.PENDING, states.PROCESSING):
            # Paid at the provider, but its payment event has not been applied here yet.
            raise ProviderRefundsDeferred(
                f"provider refund {pid}: payment {payment_id} is still {payment.status} here")
        if payment.status not in states.REFUNDABLE:
            if payment.status != states.REFUNDED:
                log.warning("provider_refund_of_unbooked_payment", payment_id=payment_id,
                            provider_refund_id=pid, status=payment.status)
                return (f"provider refund {pid} of {shown}: the payment is {payment.status} "
                        "here (never booked as paid), nothing to book")
        remaining = refunding.refundable_remainder(payment)
        if payment.status == states.REFUNDED or amount > remaining:
            if payment.refund_reserved_minor > 0:
                # A refund of ours in flight holds part of the amount; the provider refused
                # it or will: book this once that one is settled.
                raise ProviderRefundsDeferred(
                    f"provider refund {pid} of {shown} does not fit next to refunds in flight")
            log.error("provider_refund_exceeds_books", payment_id=payment_id,
                      provider_refund_id=pid, amount_minor=amount, remaining_minor=remaining)
            flag_for_operator(None, gateway=payment.gateway, kind="refund_not_booked")
            return (f"{ATTENTION}provider refund {pid} of {shown} exceeds what is left to "
                    f"refund here ({money.to_major(max(remaining, 0), payment.currency)} "
                    f"{payment.currency}); nothing booked")
        refund = Refund(
            id=new_refund_id(), merchant_id=payment.merchant_id, mode=payment.mode,
            payment_id=payment.id, gateway=payment.gateway, amount_minor=amount,
            currency=payment.currency, reason=f"refunded at the provider ({pid})"[:500],
            status=PENDING, stage=PROCESSING, provider_refund_id=pid,
            created_by=PROVIDER_ACTOR, send_count=0, check_count=0, created_at=now,
            updated_at=now,
            # Still settling at the provider: the worker asks about it like one of ours.
            next_check_at=None if item.outcome is Outcome.SUCCEEDED else now + lease(ctx),
        )
        await refunding.reserve_refund(session, payment, amount, now=now)  # fits: checked above
        await steps.add(session, refund, actor=PROVIDER_ACTOR, reason=refund.reason, now=now)
        if item.outcome is Outcome.SUCCEEDED:
            done = await steps.complete(session, refund.id, provider_refund_id=pid,
                                        actor=PROVIDER_ACTOR, now=now)
            assert done is not None  # noqa: S101 - inserted pending just now, under the lock
    log.info("provider_refund_booked", refund_id=refund.id, payment_id=payment_id,
             provider_refund_id=pid, amount_minor=amount, outcome=str(item.outcome))
    state = "completed" if item.outcome is Outcome.SUCCEEDED else "pending at the provider"
    return f"provider refund {pid} of {shown} booked as {refund.id} ({state})"
