"""``/api/v1/invoices``: thin routes over ``invoices/service.py``.

Creating, changing, finalising, voiding and writing off need the ``write`` scope (creating
honours ``Idempotency-Key``), reading needs ``read``; everything is scoped to the API key's
brand and mode (another brand's or mode's invoice is a 404).  Each change is audited in
its transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownpay import jsoncodec
from ownpay.context import AppContext
from ownpay.errors import json_response
from ownpay.invoices import service, states, terms
from ownpay.invoices.models import Invoice
from ownpay.invoices.schemas import (
    InvoiceCreate,
    InvoiceList,
    InvoiceMove,
    InvoiceOut,
    InvoiceUpdate,
)
from ownpay.merchants.accounts import public_base_url
from ownpay.merchants.auth import Principal
from ownpay.web import idempotency
from ownpay.web.body import json_object, optional_reason, parse_json_object, read_json_body
from ownpay.web.deps import Ctx, Reader, Session, Writer, audit_api, unit_of_work
from ownpay.web.idempotency import Answer, Idempotency
from ownpay.web.openapi import (
    HEADER_TOO_LONG,
    JSON_BODY_ERRORS,
    ErrorExample,
    ErrorResponses,
    invalid_state_example,
    not_found_example,
    validation_example,
)

router = APIRouter()
INVOICES = "/api/v1/invoices"
TAG = "Invoices"
CREATE = "invoices.create"  # the Idempotency-Key operation name
MAX_PAGE, DEFAULT_PAGE = 100, 20
InvoiceId = Annotated[str, Path(description="The invoice's `id` (`inv_…`).")]
Reason = Annotated[str | None, Depends(optional_reason)]

NOT_FOUND = not_found_example(service.INVOICE_NOT_FOUND)
BAD_INVOICE = validation_example("Every bad field at once", {
    "currency": ["The currency must be an ISO 4217 code, e.g. BDT or USD."],
    "lines[0].quantity": ["The quantity may have at most 3 decimal places."],
    "due_date": ["The due date is a day, YYYY-MM-DD."]})
CREATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [BAD_INVOICE, validation_example("Too large a discount", {
        "discount_amount": ["The discount may not be more than the subtotal."]}),
        "INVALID_JSON", HEADER_TOO_LONG],
    409: ["IDEMPOTENCY_KEY_REUSED"]}
NOT_DRAFT = invalid_state_example(service.NOT_DRAFT, "The invoice is no longer a draft")
NOT_OPEN = invalid_state_example(service.NOT_OPEN, "The invoice is not open")
UPDATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [validation_example("An empty body", {"request": [
        "Nothing to update: send one of " + ", ".join(terms.KNOWN) + "."]}),
        validation_example("A new currency", {"currency": [
            "An invoice's currency cannot change: make a new invoice."]}), "INVALID_JSON"],
    404: [NOT_FOUND], 409: [NOT_DRAFT]}
REASON_ERRORS: list[str | ErrorExample] = [validation_example(
    "`reason` is not a string of at most 500 characters", {
        "reason": ["The reason must be a string of at most 500 characters."]}),
    "INVALID_JSON"]
LIST_ERRORS: dict[int, list[str | ErrorExample]] = {400: [
    validation_example("Unknown cursor", {"starting_after": ["Unknown invoice id."]})]}
REASON_BODY = {"requestBody": {"required": False, "content": {"application/json": {
    "schema": InvoiceMove.model_json_schema()}}}}


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with each ``#/$defs/…`` reference replaced by its definition (a line item
    is not a response's component, so the request body carries it)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _body(model: type[Any]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": _inline(schema, schema.get("$defs", {}))}}}}


async def _shown(ctx: AppContext, session: AsyncSession, principal: Principal,
                 invoices: list[Invoice]) -> list[dict[str, Any]]:
    base = public_base_url(ctx, principal.merchant_base_url)
    paying = await service.payments_of(session, [i.id for i in invoices])
    return [service.serialize(i, base_url=base, payments=paying.get(i.id, []))
            for i in invoices]


@router.post(
    INVOICES, status_code=201, tags=[TAG], summary="Create an invoice",
    response_model=InvoiceOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=CREATE_ERRORS),
    openapi_extra=_body(InvoiceCreate),
)
async def create_invoice(
    request: Request, ctx: Ctx, principal: Writer,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=255,
        description="Same key + same body within 48 h replays the first answer; same key + "
        "different body is 409 IDEMPOTENCY_KEY_REUSED.")] = None,
) -> Response:
    """A `draft` invoice with the brand's next number (`INV-000123`, per brand and mode).
    Change it with PATCH, then finalize it: the customer pays it on its `url` (with a PDF
    at `pdf_url`), and `invoice.paid` is sent when its payments cover the total."""
    raw = await read_json_body(request)
    body = parse_json_object(raw)

    async def create(session: AsyncSession) -> dict[str, Any]:
        invoice = await service.create_invoice(session, ctx.keyring, principal.scope, body,
                                               max_minor=ctx.settings.max_amount_minor)
        await audit_api(session, request, principal, "invoice.created",
                        object_type="invoice", object_id=invoice.id,
                        details={"number": invoice.number, "total": invoice.total_minor})
        [shown] = await _shown(ctx, session, principal, [invoice])
        return shown

    outcome = await idempotency.create_once(
        ctx, Idempotency.of(principal.scope, idempotency_key, raw, operation=CREATE),
        begin=lambda: unit_of_work(ctx), create=create,
        answer=lambda shown: Answer(201, jsoncodec.dumps(shown)))
    return Response(outcome.answer.body, status_code=outcome.answer.status_code,
                    media_type="application/json", headers=idempotency.replay_headers(outcome))


@router.get(
    INVOICES, tags=[TAG], summary="List invoices", response_model=InvoiceList,
    responses=ErrorResponses(codes=LIST_ERRORS),
)
async def list_invoices(
    ctx: Ctx, principal: Reader, session: Session,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE,
                                description=f"Page size, 1 to {MAX_PAGE}.")] = DEFAULT_PAGE,
    starting_after: Annotated[str | None, Query(
        max_length=32, description="`next_cursor` of the previous page.")] = None,
    status: Annotated[states.Status | None, Query(
        description="Only invoices in this status.")] = None,
    customer_id: Annotated[str | None, Query(
        max_length=32, description="Only this customer's invoices (`cus_…`).")] = None,
) -> Response:
    """The brand's invoices in the key's mode, newest first."""
    rows, has_more = await service.list_invoices(session, principal.scope, limit=limit,
                                                 starting_after=starting_after,
                                                 status=status, customer_id=customer_id)
    shown = await _shown(ctx, session, principal, rows)
    return json_response(200, {"data": shown, "has_more": has_more,
                               "next_cursor": rows[-1].id if has_more and rows else None})


@router.get(
    INVOICES + "/{invoice_id}", tags=[TAG], summary="Retrieve an invoice",
    response_model=InvoiceOut, responses=ErrorResponses(codes={404: [NOT_FOUND]}),
)
async def get_invoice(invoice_id: InvoiceId, ctx: Ctx, principal: Reader,
                      session: Session) -> Response:
    """One invoice with its totals and the payments made for it. Another brand's or mode's
    id is 404."""
    invoice = await service.get_invoice(session, principal.scope, invoice_id)
    [shown] = await _shown(ctx, session, principal, [invoice])
    return json_response(200, shown)


@router.patch(
    INVOICES + "/{invoice_id}", tags=[TAG], summary="Update a draft invoice",
    response_model=InvoiceOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=UPDATE_ERRORS),
    openapi_extra=_body(InvoiceUpdate),
)
async def update_invoice(invoice_id: InvoiceId, request: Request, ctx: Ctx,
                         principal: Writer, session: Session) -> Response:
    """Change only the fields sent (checked with the rest of the invoice's terms); a draft
    only: an open invoice was sent and stays as it was sent."""
    body = await json_object(request)
    invoice = await service.update_invoice(session, ctx.keyring, principal.scope, invoice_id,
                                           body, max_minor=ctx.settings.max_amount_minor)
    await audit_api(session, request, principal, "invoice.updated", object_type="invoice",
                    object_id=invoice.id, details={"fields": sorted(body)})
    [shown] = await _shown(ctx, session, principal, [invoice])
    return json_response(200, shown)


async def _move(ctx: AppContext, request: Request, principal: Principal,
                session: AsyncSession, invoice_id: str, to: str,
                reason: str | None) -> Response:
    invoice = await service.move(session, principal.scope, invoice_id, to,
                                 actor=f"api_key:{principal.api_key_id}", reason=reason)
    await audit_api(session, request, principal, f"invoice.{to}", object_type="invoice",
                    object_id=invoice.id, details={"reason": reason} if reason else None)
    [shown] = await _shown(ctx, session, principal, [invoice])
    return json_response(200, shown)


@router.post(
    INVOICES + "/{invoice_id}/finalize", tags=[TAG], summary="Finalize an invoice",
    response_model=InvoiceOut, openapi_extra=REASON_BODY,
    responses=ErrorResponses(codes={400: REASON_ERRORS, 404: [NOT_FOUND], 409: [
        NOT_DRAFT, invalid_state_example(service.NOTHING_TO_PAY, "A total of 0")]}),
)
async def finalize_invoice(invoice_id: InvoiceId, request: Request, ctx: Ctx,
                           principal: Writer, session: Session, reason: Reason) -> Response:
    """`draft` → `open`: the invoice is sent. Its page takes payments from now on; it can
    no longer change."""
    return await _move(ctx, request, principal, session, invoice_id, states.OPEN, reason)


@router.post(
    INVOICES + "/{invoice_id}/void", tags=[TAG], summary="Void an invoice",
    response_model=InvoiceOut, openapi_extra=REASON_BODY,
    responses=ErrorResponses(codes={400: REASON_ERRORS, 404: [NOT_FOUND], 409: [NOT_OPEN]}),
)
async def void_invoice(invoice_id: InvoiceId, request: Request, ctx: Ctx,
                       principal: Writer, session: Session, reason: Reason) -> Response:
    """`open` → `void`: issued by mistake; its page says so and takes no payment."""
    return await _move(ctx, request, principal, session, invoice_id, states.VOID, reason)


@router.post(
    INVOICES + "/{invoice_id}/mark-uncollectible", tags=[TAG],
    summary="Mark an invoice uncollectible", response_model=InvoiceOut,
    openapi_extra=REASON_BODY,
    responses=ErrorResponses(codes={400: REASON_ERRORS, 404: [NOT_FOUND], 409: [NOT_OPEN]}),
)
async def mark_uncollectible(invoice_id: InvoiceId, request: Request, ctx: Ctx,
                             principal: Writer, session: Session, reason: Reason) -> Response:
    """`open` → `uncollectible`: written off; its page takes no payment."""
    return await _move(ctx, request, principal, session, invoice_id, states.UNCOLLECTIBLE,
                       reason)
