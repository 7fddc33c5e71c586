"""Refunds: refunding a payment (fully or in part, after a confirmation step), the refunds
list and a refund's page, and settling an offline refund by hand (confirm / fail).

A refund is created exactly as ``POST /api/v1/refunds`` creates one: ``refunds.flows``'
plan, reservation and send, under ``create_once`` with an idempotency key.  The key is
made when the confirmation page is shown and travels in its form, so a double submit (or
a reload of the result) finds the first refund instead of making a second one.

An ``operator`` whose user has a ``refund_limit`` (major units, e.g. ``100.00``) may refund
at most that much per refund, in the payment's currency; owners, admins and managers have
no limit, and an operator without one is not limited."""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownpay import jsoncodec, money
from ownpay.dashboard.payments_pages import (
    amount,
    follow,
    open_payment,
    operator_actor,
    scope_of,
)
from ownpay.dashboard.roles import Permission, is_installation_role
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.errors import ApiError, InvalidState, NotFound, ValidationFailed
from ownpay.gateways import registry
from ownpay.payments import refunding
from ownpay.payments.models import PaymentIntent
from ownpay.refunds import flows, repository
from ownpay.refunds.models import Refund
from ownpay.refunds.presenters import awaiting_operator, pending_reason
from ownpay.refunds.schemas import validate_create
from ownpay.refunds.states import STATUSES
from ownpay.tenancy import TenantScope
from ownpay.web import idempotency
from ownpay.web.body import REASON_LIMIT
from ownpay.web.deps import Session, unit_of_work
from ownpay.web.idempotency import Answer, Idempotency

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Refunder = Annotated[Viewer, Depends(require(Permission.PAYMENTS_ACT, step_up=True))]
KEY_PREFIX = "dashboard:"
_KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")
LIMITED_ROLES = ("operator",)
PAGE = 25


# ---- refunding a payment -------------------------------------------------------------------


def refund_limit(viewer: Viewer, currency: str) -> int | None:
    """The most one refund by this user may be, in minor units of ``currency`` (None: no
    limit).  An unreadable limit allows nothing rather than everything."""
    text = viewer.user.refund_limit
    if viewer.user.role not in LIMITED_ROLES or not text:
        return None
    try:
        return money.parse_minor(money.to_decimal(text), currency)
    except money.AmountError:
        return 0


def _remaining(intent: PaymentIntent) -> int:
    return max(refunding.refundable_remainder(intent), 0)


def _check(viewer: Viewer, intent: PaymentIntent) -> tuple[int, dict[str, list[str]]]:
    """The amount to refund (minor units) and every problem with the posted form."""
    errors: dict[str, list[str]] = {}
    form = viewer.form
    text = form.get("amount", "").strip()
    reason = form.get("reason", "").strip()
    remaining = _remaining(intent)
    minor = remaining
    try:
        refunding.check_refundable(intent)
    except InvalidState as exc:
        errors.setdefault("amount", []).append(exc.message)
    adapter = registry.get(intent.gateway)
    if adapter is None or not adapter.supports_refunds:
        errors.setdefault("amount", []).append(
            f"Gateway '{intent.gateway}' does not support refunds.")
    if text:
        try:
            minor = money.parse_minor(money.to_decimal(text), intent.currency)
        except money.AmountError as exc:
            errors.setdefault("amount", []).append(str(exc))
        else:
            if minor <= 0:
                errors.setdefault("amount", []).append("The amount must be greater than 0.")
    if not errors and minor > remaining:
        errors.setdefault("amount", []).extend((refunding.over_remainder(intent).errors
                                                or {}).get("amount", []))
    limit = refund_limit(viewer, intent.currency)
    if not errors and limit is not None and minor > limit:
        errors.setdefault("amount", []).append(
            f"Your refund limit is {amount(limit, intent.currency)} per refund; ask a "
            "manager to refund more.")
    if len(reason) > REASON_LIMIT:
        errors.setdefault("reason", []).append(
            f"The reason must be a string of at most {REASON_LIMIT} characters.")
    return minor, errors


def _form(request: Request, viewer: Viewer, intent: PaymentIntent, *,
          errors: dict[str, list[str]] | None = None, confirm: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    limit = refund_limit(viewer, intent.currency)
    adapter = registry.get(intent.gateway)
    return render(request, "refund_form.html", {
        "p": intent, "amount": amount(intent.amount_minor, intent.currency),
        "gateway_name": adapter.display_name if adapter else intent.gateway,
        "offline": adapter is not None and adapter.customer_sends_money,
        "remaining": amount(_remaining(intent), intent.currency),
        "limit": None if limit is None else amount(limit, intent.currency),
        "errors": errors or {}, "confirm": confirm,
        "values": {"amount": viewer.form.get("amount", ""),
                   "reason": viewer.form.get("reason", "")},
        "reason_limit": REASON_LIMIT}, viewer=viewer, status_code=status_code)


@router.get("/admin/payments/{transaction_id}/refund")
async def refund_form(request: Request, session: Session, viewer: Refunder,
                      transaction_id: str) -> Response:
    intent = await open_payment(session, viewer, transaction_id)
    return _form(request, viewer, intent)


@router.post("/admin/payments/{transaction_id}/refund")
async def refund_submit(request: Request, session: Session, viewer: Refunder,
                        transaction_id: str) -> Response:
    """Without ``confirm``: check the form and show the confirmation (with a fresh
    idempotency key).  With it: create the refund once for that key."""
    intent = await open_payment(session, viewer, transaction_id)
    minor, errors = _check(viewer, intent)
    if errors:
        return _form(request, viewer, intent, errors=errors, status_code=400)
    form = viewer.form
    if form.get("confirm") != "yes":
        return _form(request, viewer, intent, confirm={
            "amount": amount(minor, intent.currency), "full": minor == _remaining(intent),
            "key": secrets.token_urlsafe(24)})
    key = form.get("idempotency_key", "")
    if not _KEY.fullmatch(key):
        return _form(request, viewer, intent, status_code=400, errors={
            "amount": ["This confirmation has expired: check the amount and confirm again."]})
    return await _create(request, session, viewer, intent, key)


async def _create(request: Request, session: AsyncSession, viewer: Viewer,
                  intent: PaymentIntent, key: str) -> Response:
    ctx = ctx_of(request)
    scope = TenantScope(intent.merchant_id, intent.mode)
    text = viewer.form.get("amount", "").strip() or None
    reason = viewer.form.get("reason", "").strip() or None
    body = {"transaction_id": intent.id, "amount": text, "reason": reason}
    plan = flows.RefundPlan(ctx, scope, validate_create(body))
    actor = operator_actor(viewer)

    # The flows open sessions of their own: this request's lets go of its connection first.
    await session.commit()
    try:
        outcome = await idempotency.create_once(
            ctx, Idempotency.of(scope, KEY_PREFIX + key, jsoncodec.dumps(body),
                                operation=flows.CREATE_REFUND),
            prepare=plan.load, begin=lambda: unit_of_work(ctx),
            create=lambda unit: flows.reserve(unit, plan, actor=actor, audited=viewer.actor),
            answer=lambda refund: Answer(201, jsoncodec.dumps({"id": refund.id})))
    except ApiError as exc:  # over the remainder meanwhile, not refundable, gateway off, …
        messages = [m for ms in (exc.errors or {}).values() for m in ms] or [exc.message]
        async with ctx.sessions() as reread:  # the request's transaction is over
            fresh = await open_payment(reread, viewer, intent.id)
        return _form(request, viewer, fresh, errors={"amount": messages},
                     status_code=400 if isinstance(exc, ValidationFailed) else 409)
    if outcome.created is not None:
        refund = await flows.send(ctx, outcome.created.id, actor=actor)
        return see_other(f"/admin/refunds/{refund.id}?done=created")
    refund_id = str(jsoncodec.loads_strict(outcome.answer.body).get("id", ""))
    return see_other(f"/admin/refunds/{refund_id}?done=again")


# ---- the refunds list and a refund ------------------------------------------------------------


@router.get("/admin/refunds")
async def refunds_list(request: Request, session: Session, viewer: Reader,
                       status: str = "", after: str = "") -> Response:
    scope = scope_of(viewer)
    errors: dict[str, list[str]] = {}
    rows: list[Refund] = []
    more = False
    try:
        rows, more = await repository.page(
            session, scope, repository.RefundFilters(status=status or None), limit=PAGE,
            starting_after=after or None)
    except ValidationFailed as exc:
        errors = {"after" if k == "starting_after" else k: v
                  for k, v in (exc.errors or {}).items()}
    base = "/admin/refunds" + (f"?status={status}&" if status in STATUSES else "?")
    return render(request, "refunds.html", {
        "rows": [{"r": r, "amount": amount(r.amount_minor, r.currency),
                  "pending_reason": pending_reason(r)} for r in rows],
        "status": status, "statuses": STATUSES, "errors": errors,
        "next_url": f"{base}after={rows[-1].id}" if more and rows else None,
        "first_url": base.rstrip("?&") if after else None},
        viewer=viewer, status_code=400 if errors else 200)


async def _open_refund(session: AsyncSession, viewer: Viewer, refund_id: str) -> Refund:
    try:
        return await repository.get_or_404(session, scope_of(viewer), refund_id)
    except NotFound:
        if not is_installation_role(viewer.user.role):
            raise Gone() from None
    try:
        theirs = await repository.operator_scope(session, refund_id)
    except NotFound:
        raise Gone() from None
    scope = follow(viewer, theirs.merchant_id, theirs.mode)
    return await repository.get_or_404(session, scope, refund_id)


async def _refund_page(request: Request, session: AsyncSession, viewer: Viewer, refund: Refund,
                       *, error: str | None = None, status_code: int = 200) -> Response:
    notice = {"created": "The refund was sent.",
              "again": "This refund was already submitted; here it is.",
              "confirmed": "The refund is confirmed.", "failed": "The refund is marked failed.",
              }.get(request.query_params.get("done", ""))
    return render(request, "refund.html", {
        "r": refund, "amount": amount(refund.amount_minor, refund.currency),
        "pending_reason": pending_reason(refund),
        "decidable": awaiting_operator(refund, registry.get(refund.gateway)),
        "may_act": viewer.can(Permission.PAYMENTS_ACT),
        "history": await repository.history(session, refund),
        "notice": None if error else notice, "error": error,
        "reason_limit": REASON_LIMIT}, viewer=viewer, status_code=status_code)


@router.get("/admin/refunds/{refund_id}")
async def refund_page(request: Request, session: Session, viewer: Reader,
                      refund_id: str) -> Response:
    return await _refund_page(request, session, viewer,
                              await _open_refund(session, viewer, refund_id))


async def _settle(request: Request, session: AsyncSession, viewer: Viewer, refund_id: str, *,
                  confirm: bool) -> Response:
    refund = await _open_refund(session, viewer, refund_id)
    reason = viewer.form.get("reason", "").strip() or None
    if reason is not None and len(reason) > REASON_LIMIT:
        return await _refund_page(request, session, viewer, refund, status_code=400,
                                  error=f"The reason may be at most {REASON_LIMIT} characters.")
    ctx = ctx_of(request)
    scope = TenantScope(refund.merchant_id, refund.mode)
    await session.commit()  # settle_by_operator opens its own transaction
    try:
        await flows.settle_by_operator(ctx, scope, refund.id, confirm=confirm,
                                       reason=reason, actor=operator_actor(viewer),
                                       audited=viewer.actor)
    except InvalidState as exc:
        async with ctx.sessions() as reread:  # the request's transaction is over
            fresh = await repository.get_or_404(reread, scope, refund.id)
            return await _refund_page(request, reread, viewer, fresh, error=exc.message,
                                      status_code=409)
    return see_other(f"/admin/refunds/{refund.id}?done={'confirmed' if confirm else 'failed'}")


@router.post("/admin/refunds/{refund_id}/confirm")
async def refund_confirm(request: Request, session: Session, viewer: Refunder,
                         refund_id: str) -> Response:
    """An offline refund's money was given back: pending → completed."""
    return await _settle(request, session, viewer, refund_id, confirm=True)


@router.post("/admin/refunds/{refund_id}/fail")
async def refund_fail(request: Request, session: Session, viewer: Refunder,
                      refund_id: str) -> Response:
    """No money was given back: pending → failed (the amount is refundable again)."""
    return await _settle(request, session, viewer, refund_id, confirm=False)
