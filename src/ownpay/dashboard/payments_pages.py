"""Payments: the transaction list (the API's filters, search, cursor pages, CSV export),
a payment's page (amounts, customer, history, refunds, ledger lines, webhook deliveries)
and the operator's decisions on it (approve / reject a manual payment, cancel a pending one).

Reads go through the transaction queries (``transactions/service``) and the payments,
refunds, ledger and webhook-log repositories; every change goes through the payments
service's state machine, with an audit row in the same transaction.  Refunds are
``refunds_pages``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.responses import Response, StreamingResponse

from ownpay import audit, ids, money
from ownpay.dashboard.roles import Permission, is_installation_role
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.db import utcnow
from ownpay.errors import InvalidState, ValidationFailed
from ownpay.ledger import service as ledger
from ownpay.payments import presenters, repository, service, states
from ownpay.payments.models import PaymentIntent
from ownpay.refunds import repository as refund_rows
from ownpay.refunds.presenters import pending_reason
from ownpay.sms.matching import decisions_for
from ownpay.sms.presenters import message_view
from ownpay.tenancy import TenantScope
from ownpay.transactions import export, schemas
from ownpay.transactions import service as transactions
from ownpay.web.body import REASON_LIMIT
from ownpay.web.deps import ReadSession, Session
from ownpay.webhooks import log as webhook_log

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Actor = Annotated[Viewer, Depends(require(Permission.PAYMENTS_ACT))]

# The list form's fields, in the order of the API's parameters, plus the search box.
FILTER_FIELDS = tuple(schemas.FILTER_PARAMETERS)
SEARCH = "q"
DELIVERIES_SHOWN = 20
STATUS_LABELS = {
    states.PENDING: "Pending", states.PROCESSING: "Processing",
    states.AWAITING_VERIFICATION: "Awaiting verification", states.COMPLETED: "Completed",
    states.FAILED: "Failed", states.CANCELLED: "Cancelled", states.EXPIRED: "Expired",
    states.PARTIALLY_REFUNDED: "Partially refunded", states.REFUNDED: "Refunded",
}


def scope_of(viewer: Viewer) -> TenantScope:
    """The brand and mode the viewer looks at (no brand yet: nothing to see)."""
    if viewer.merchant is None:
        raise Gone()
    return TenantScope(viewer.merchant.id, viewer.mode)


def follow(viewer: Viewer, merchant_id: int, mode: str) -> TenantScope:
    """The scope to show an object of ``(merchant_id, mode)`` in.  It must be the viewer's
    brand and mode -- except that an owner or admin (who sees every brand) following a link
    to another brand's or mode's object is switched to it, as the switcher would.  Anyone
    else gets 404."""
    scope = scope_of(viewer)
    if (merchant_id, mode) == (scope.merchant_id, scope.mode):
        return scope
    brand = next((b for b in viewer.brands if b.id == merchant_id), None)
    if brand is None or not is_installation_role(viewer.user.role):
        raise Gone()
    viewer.merchant, viewer.row.merchant_id, viewer.row.mode = brand, brand.id, mode
    return TenantScope(brand.id, mode)


async def open_payment(session: AsyncSession, viewer: Viewer, transaction_id: str) -> PaymentIntent:
    """The viewer's payment (see :func:`follow`), or 404."""
    intent = await repository.get(session, scope_of(viewer), transaction_id)
    if intent is None and is_installation_role(viewer.user.role):
        intent = await repository.operator_get(session, transaction_id)
    if intent is None:
        raise Gone()
    follow(viewer, intent.merchant_id, intent.mode)
    return intent


def amount(minor: int | None, currency: str) -> str:
    return "" if minor is None else money.format_plain(minor, currency)


def operator_actor(viewer: Viewer) -> str:
    """How the payment's (or refund's) status history names a dashboard user."""
    return f"{service.OPERATOR_ACTOR_PREFIX}{viewer.user.email}"[:64]


# ---- the list ----------------------------------------------------------------------------


def _api_items(params: QueryParams, errors: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The query as the API's parser takes it: empty form fields dropped, the search box
    turned into the filter it names (an e-mail address, else an order id)."""
    items = [(k, v) for k, v in params.multi_items() if v.strip() and k != SEARCH]
    q = params.get(SEARCH, "").strip()
    if q and not ids.is_transaction_id(q):
        name = "customer_email" if "@" in q else "order_id"
        if any(k == name for k, _ in items):
            errors.setdefault(SEARCH, []).append(
                f"Search or fill in {name.replace('_', ' ')}, not both.")
        else:
            items.append((name, q))
    return items


def _row(row: Any) -> dict[str, Any]:
    return {"id": row.id, "status": row.status, "label": STATUS_LABELS.get(row.status, row.status),
            "amount": amount(row.amount_minor, row.currency),
            "order_id": row.order_id, "customer": row.customer_name,
            "email": row.customer_email, "gateway": row.gateway,
            "created_at": row.created_at}


def _export_url(params: QueryParams) -> str:
    kept = QueryParams([(k, v) for k, v in params.multi_items()
                        if k not in ("cursor", "limit") and v.strip()])
    return "/admin/payments/export" + (f"?{kept}" if str(kept) else "")


@router.get("/admin/payments")
async def payments_list(request: Request, session: Session, viewer: Reader,
                        reads: ReadSession) -> Response:
    scope = scope_of(viewer)
    params = request.query_params
    errors: dict[str, list[str]] = {}
    items = _api_items(params, errors)
    rows: list[Any] = []
    next_url = None
    q = params.get(SEARCH, "").strip()
    try:
        query = schemas.parse_list_query(items)
    except ValidationFailed as exc:
        errors.update(exc.errors or {})
    if not errors:
        if q and ids.is_transaction_id(q):
            found = await repository.get(session, scope, q)
            rows = [found] if found is not None else []
        else:  # the list (and its export) may come from the read replica
            page = await transactions.list_transactions(reads, scope=scope, query=query)
            rows = list(page.rows)
            if page.next_cursor:
                kept = [(k, v) for k, v in params.multi_items() if k != "cursor" and v.strip()]
                next_url = "/admin/payments?" + str(QueryParams(
                    [*kept, ("cursor", page.next_cursor)]))
    return render(request, "payments.html", {
        "rows": [_row(r) for r in rows], "errors": errors,
        "values": {name: params.get(name, "") for name in (*FILTER_FIELDS, SEARCH)},
        "chosen": set(params.getlist("status")),
        "statuses": [(s, STATUS_LABELS[s]) for s in states.STATUSES],
        "next_url": next_url,
        "first_url": "/admin/payments?" + str(QueryParams(
            [(k, v) for k, v in params.multi_items() if k != "cursor"]))
        if params.get("cursor") else None,
        # A transaction id search is one row, not a filter the export could take.
        "export_url": None if ids.is_transaction_id(q) else _export_url(params)},
        viewer=viewer, status_code=400 if errors else 200)


@router.get("/admin/payments/export")
async def payments_export(request: Request, session: Session, viewer: Reader) -> Response:
    """The list's filters as CSV, through the API's export (same columns, same escaping)."""
    scope = scope_of(viewer)
    errors: dict[str, list[str]] = {}
    items = [(k, v) for k, v in _api_items(request.query_params, errors)
             if k not in ("cursor", "limit")]
    try:
        filters = schemas.parse_filters(items)
    except ValidationFailed as exc:
        errors.update(exc.errors or {})
    if errors:
        return render(request, "payments.html", {
            "rows": [], "errors": errors, "values": {}, "chosen": set(),
            "statuses": [(s, STATUS_LABELS[s]) for s in states.STATUSES],
            "next_url": None, "first_url": None, "export_url": None},
            viewer=viewer, status_code=400)
    # The export reads in batches on sessions of its own: this request's session lets go of
    # its connection first (SQLite has one).
    await session.commit()
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        export.csv_stream(ctx_of(request).reads, scope=scope, filters=filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="transactions-{scope.mode}-'
                 f'{stamp}.csv"'})


# ---- one payment ---------------------------------------------------------------------------


async def _detail(request: Request, session: Session, viewer: Viewer, intent: PaymentIntent, *,
                  error: str | None = None, notice: str | None = None,
                  status_code: int = 200) -> Response:
    scope = TenantScope(intent.merchant_id, intent.mode)
    history = await repository.history(session, intent)
    refunds = sorted(await refund_rows.of_payment(session, intent.id),
                     key=lambda r: (r.created_at, r.id))
    journals = await ledger.journals_of_payment(session, scope=scope, payment_id=intent.id)
    deliveries, more = await webhook_log.list_deliveries(
        session, scope=scope, filters=webhook_log.DeliveryFilters(transaction_id=intent.id),
        limit=DELIVERIES_SHOWN)
    sms = [message_view(m) for m in await decisions_for(session, intent.id)
           if (m.merchant_id, m.mode) == (intent.merchant_id, intent.mode)]
    remaining = max(intent.amount_minor - intent.refunded_minor
                    - intent.refund_reserved_minor, 0)
    return render(request, "payment.html", {
        "p": intent, "label": STATUS_LABELS.get(intent.status, intent.status),
        "labels": STATUS_LABELS,
        "amount": amount(intent.amount_minor, intent.currency),
        "fee": amount(intent.fee_minor, intent.currency),
        "net": amount(intent.net_minor, intent.currency),
        "refunded": amount(intent.refunded_minor, intent.currency),
        "reserved": amount(intent.refund_reserved_minor, intent.currency)
        if intent.refund_reserved_minor else None,
        "remaining": amount(remaining, intent.currency),
        "submission": presenters.customer_submission(intent),
        "history": history,
        "refunds": [{"r": r, "amount": amount(r.amount_minor, r.currency),
                     "pending_reason": pending_reason(r)} for r in refunds],
        "journals": [{"j": j, "lines": [{"e": e, "amount": amount(e.amount_minor, e.currency)}
                                        for e in lines]} for j, lines in journals],
        "deliveries": deliveries, "more_deliveries": more, "sms": sms,
        "may_act": viewer.can(Permission.PAYMENTS_ACT),
        "reviewable": intent.status == states.AWAITING_VERIFICATION,
        "cancellable": intent.status == states.PENDING,
        "refundable": intent.status in states.REFUNDABLE and remaining > 0,
        "error": error, "notice": notice, "reason_limit": REASON_LIMIT},
        viewer=viewer, status_code=status_code)


@router.get("/admin/payments/{transaction_id}")
async def payment_page(request: Request, session: Session, viewer: Reader,
                       transaction_id: str) -> Response:
    intent = await open_payment(session, viewer, transaction_id)
    notice = {"approved": "The payment is approved.", "rejected": "The payment is rejected.",
              "cancelled": "The payment is cancelled."}.get(request.query_params.get("done", ""))
    return await _detail(request, session, viewer, intent, notice=notice)


def _reason(viewer: Viewer) -> str | None:
    reason = viewer.form.get("reason", "").strip()
    return reason or None


async def _decide(request: Request, session: Session, viewer: Viewer, transaction_id: str,
                  action: str) -> Response:
    intent = await open_payment(session, viewer, transaction_id)
    reason = _reason(viewer)
    if reason is not None and len(reason) > REASON_LIMIT:
        return await _detail(request, session, viewer, intent, status_code=400,
                             error=f"The reason may be at most {REASON_LIMIT} characters.")
    before = intent.status
    try:
        if action == "cancelled":
            moved = await service.cancel(session, intent, actor=operator_actor(viewer),
                                         reason=reason or "cancelled by operator")
        else:
            moved = await service.review_manual(session, intent, approve=action == "approved",
                                                actor=operator_actor(viewer), reason=reason)
    except InvalidState as exc:
        return await _detail(request, session, viewer, intent, error=exc.message,
                             status_code=409)
    await audit.record(session, viewer.actor, f"payment.{action}",
                       merchant_id=moved.merchant_id, mode=moved.mode,
                       object_type="payment", object_id=moved.id,
                       details={"status": {"before": before, "after": moved.status},
                                **({"reason": {"before": None, "after": reason}}
                                   if reason else {})})
    return see_other(f"/admin/payments/{moved.id}?done={action}")


@router.post("/admin/payments/{transaction_id}/approve")
async def payment_approve(request: Request, session: Session, viewer: Actor,
                          transaction_id: str) -> Response:
    """Awaiting verification → completed (the fee and ledger journals are posted)."""
    return await _decide(request, session, viewer, transaction_id, "approved")


@router.post("/admin/payments/{transaction_id}/reject")
async def payment_reject(request: Request, session: Session, viewer: Actor,
                         transaction_id: str) -> Response:
    return await _decide(request, session, viewer, transaction_id, "rejected")


@router.post("/admin/payments/{transaction_id}/cancel")
async def payment_cancel(request: Request, session: Session, viewer: Actor,
                         transaction_id: str) -> Response:
    return await _decide(request, session, viewer, transaction_id, "cancelled")
