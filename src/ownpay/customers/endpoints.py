"""``/api/v1/customers``: thin routes over ``customers/service.py``.

Creating, changing and forgetting need the ``write`` scope (creating honours
``Idempotency-Key``), reading needs ``read``; everything is scoped to the API key's brand
and mode (another brand's or mode's customer is a 404).  Each change is audited in its
transaction -- by field names only: the audit chain cannot be erased, so PII never enters it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownpay import jsoncodec
from ownpay.customers import service
from ownpay.customers.models import Customer
from ownpay.customers.schemas import (
    CustomerCreate,
    CustomerList,
    CustomerOut,
    CustomerPaymentList,
    CustomerUpdate,
)
from ownpay.errors import json_response
from ownpay.pagination import page_body
from ownpay.web import idempotency
from ownpay.web.body import json_object, parse_json_object, read_json_body
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
CUSTOMERS = "/api/v1/customers"
TAG = "Customers"
CREATE = "customers.create"  # the Idempotency-Key operation name
MAX_PAGE, DEFAULT_PAGE = 100, 20
CustomerId = Annotated[str, Path(description="The customer's `id` (`cus_…`).")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Page size, 1 to {MAX_PAGE}.")]
After = Annotated[str | None, Query(max_length=32,
                                    description="`next_cursor` of the previous page.")]

NOT_FOUND = not_found_example(service.CUSTOMER_NOT_FOUND)
BAD_FIELDS = validation_example("Every bad field at once", {
    "email": [service.BAD["email"]], "phone": [service.BAD["phone"]],
    "nickname": ["Unknown field."]})
TAKEN = validation_example("The e-mail is another customer's", {
    "email": [service.TAKEN["email"]]})
CREATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [BAD_FIELDS, TAKEN, validation_example("Nothing about the customer", {
        "request": ["Give at least one of name, email or phone."]}), "INVALID_JSON",
        HEADER_TOO_LONG],
    409: ["IDEMPOTENCY_KEY_REUSED"]}
UPDATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [validation_example("An empty body", {"request": [
        "Nothing to update: send one of " + ", ".join(service.KNOWN) + "."]}), TAKEN,
        "INVALID_JSON"],
    404: [NOT_FOUND],
    409: [invalid_state_example(service.FORGOTTEN, "The customer was forgotten")]}
LIST_ERRORS: dict[int, list[str | ErrorExample]] = {400: [
    validation_example("Unknown cursor", {"starting_after": ["Unknown customer id."]}),
    validation_example("Not a phone number", {"phone": [service.BAD["phone"]]})]}
PAYMENTS_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [validation_example("Unknown cursor", {"starting_after": [
        "Unknown transaction id."]})],
    404: [NOT_FOUND]}


def _body(model: type[Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """What the audit row says about a change: which fields, never their values."""
    return {"fields": sorted(body)}


@router.post(
    CUSTOMERS, status_code=201, tags=[TAG], summary="Create a customer",
    response_model=CustomerOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=CREATE_ERRORS),
    openapi_extra=_body(CustomerCreate),
)
async def create_customer(
    request: Request, ctx: Ctx, principal: Writer,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=255,
        description="Same key + same body within 48 h replays the first answer; same key + "
        "different body is 409 IDEMPOTENCY_KEY_REUSED.")] = None,
) -> Response:
    """A customer of the key's brand and mode. Payments with an e-mail or phone are matched
    to customers (or make one) by themselves; this is for customers known before they pay.
    Name, e-mail and phone are encrypted at rest; e-mail and phone are found by digest."""
    raw = await read_json_body(request)
    body = parse_json_object(raw)

    async def create(session: AsyncSession) -> Customer:
        customer = await service.create_customer(session, ctx.keyring, principal.scope, body)
        await audit_api(session, request, principal, "customer.created",
                        object_type="customer", object_id=customer.id, details=_fields(body))
        return customer

    outcome = await idempotency.create_once(
        ctx, Idempotency.of(principal.scope, idempotency_key, raw, operation=CREATE),
        begin=lambda: unit_of_work(ctx), create=create,
        answer=lambda c: Answer(201, jsoncodec.dumps(service.serialize(ctx.keyring, c))))
    return Response(outcome.answer.body, status_code=outcome.answer.status_code,
                    media_type="application/json", headers=idempotency.replay_headers(outcome))


@router.get(
    CUSTOMERS, tags=[TAG], summary="List customers", response_model=CustomerList,
    responses=ErrorResponses(codes=LIST_ERRORS),
)
async def list_customers(
    ctx: Ctx, principal: Reader, session: Session, limit: Limit = DEFAULT_PAGE,
    starting_after: After = None,
    email: Annotated[str | None, Query(max_length=254, description=(
        "Only the customer with this e-mail (exact, case-insensitive; by digest)."))] = None,
    phone: Annotated[str | None, Query(max_length=40, description=(
        "Only the customer with this phone (any form that normalises to the same E.164 "
        "number; by digest)."))] = None,
) -> Response:
    """The brand's customers in the key's mode, newest first."""
    rows, has_more = await service.list_customers(
        session, ctx.keyring, principal.scope, limit=limit, starting_after=starting_after,
        email=email, phone=phone)
    return json_response(200, page_body(rows, has_more,
                                        lambda c: service.serialize(ctx.keyring, c)))


@router.get(
    CUSTOMERS + "/{customer_id}", tags=[TAG], summary="Retrieve a customer",
    response_model=CustomerOut, responses=ErrorResponses(codes={404: [NOT_FOUND]}),
)
async def get_customer(customer_id: CustomerId, ctx: Ctx, principal: Reader,
                       session: Session) -> Response:
    """One customer. Another brand's or mode's id is 404."""
    customer = await service.get_customer(session, principal.scope, customer_id)
    return json_response(200, service.serialize(ctx.keyring, customer))


@router.patch(
    CUSTOMERS + "/{customer_id}", tags=[TAG], summary="Update a customer",
    response_model=CustomerOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=UPDATE_ERRORS),
    openapi_extra=_body(CustomerUpdate),
)
async def update_customer(customer_id: CustomerId, request: Request, ctx: Ctx,
                          principal: Writer, session: Session) -> Response:
    """Change only the fields sent. Payments already made keep the details they were made
    with."""
    body = await json_object(request)
    customer = await service.update_customer(session, ctx.keyring, principal.scope,
                                             customer_id, body)
    await audit_api(session, request, principal, "customer.updated", object_type="customer",
                    object_id=customer.id, details=_fields(body))
    return json_response(200, service.serialize(ctx.keyring, customer))


@router.post(
    CUSTOMERS + "/{customer_id}/forget", tags=[TAG], summary="Forget a customer",
    response_model=CustomerOut, responses=ErrorResponses(codes={404: [NOT_FOUND]}),
)
async def forget_customer(customer_id: CustomerId, ctx: Ctx, request: Request,
                          principal: Writer, session: Session) -> Response:
    """Erase the customer's name, e-mail, phone and metadata, and the customer name, e-mail
    and phone on its payments. Amounts, statuses, refunds and the ledger stay (the books
    still balance). Cannot be undone; forgetting again changes nothing. A later payment
    with the same e-mail makes a new customer."""
    customer, cleaned = await service.forget_customer(session, ctx.keyring, principal.scope,
                                                      customer_id)
    if cleaned is not None:
        await audit_api(session, request, principal, "customer.forgotten",
                        object_type="customer", object_id=customer.id,
                        details={"payments_cleaned": cleaned})
    return json_response(200, service.serialize(ctx.keyring, customer))


@router.get(
    CUSTOMERS + "/{customer_id}/payments", tags=[TAG], summary="List a customer's payments",
    response_model=CustomerPaymentList, responses=ErrorResponses(codes=PAYMENTS_ERRORS),
)
async def customer_payments(customer_id: CustomerId, principal: Reader, session: Session,
                            limit: Limit = DEFAULT_PAGE,
                            starting_after: After = None) -> Response:
    """The customer's payments, newest first, each with its refunds. (Its invoices:
    `GET /api/v1/invoices?customer_id=`.)"""
    rows, has_more, refunds = await service.payments_of(
        session, principal.scope, customer_id, limit=limit, starting_after=starting_after)
    return json_response(200, page_body(
        rows, has_more, lambda p: service.serialize_payment(p, refunds[p.id])))
