"""``/api/v1/payment-links``: thin routes over ``links/service.py``.

Making and changing links needs the ``write`` scope, reading them ``read``; everything is
scoped to the API key's brand and mode (another brand's or mode's link is a 404).  Each
change is audited in the request's transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from ownpay import audit
from ownpay.errors import json_response
from ownpay.links import service, terms
from ownpay.links.models import PaymentLink
from ownpay.links.schemas import (
    PaymentLinkCreate,
    PaymentLinkList,
    PaymentLinkOut,
    PaymentLinkUpdate,
)
from ownpay.merchants.accounts import public_base_url
from ownpay.merchants.auth import Principal
from ownpay.web.body import json_object
from ownpay.web.deps import Reader, Session, Writer, app_context, audit_api
from ownpay.web.openapi import (
    JSON_BODY_ERRORS,
    ErrorExample,
    ErrorResponses,
    not_found_example,
    validation_example,
)

router = APIRouter()
LINKS = "/api/v1/payment-links"
TAG = "Payment links"
MAX_PAGE, DEFAULT_PAGE = 100, 20
LinkId = Annotated[str, Path(description="The link's `id` (`plink_…`).")]

LINK_NOT_FOUND = not_found_example(service.LINK_NOT_FOUND)
BAD_LINK = validation_example("Every bad field at once", {
    "title": ["The title field is required."],
    "amount": ["Give a fixed amount, or min_amount/max_amount for the customer's own amount "
               "-- not both."],
    "gateways": ["Gateway 'paypal' is not configured or inactive."],
})
CREATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [BAD_LINK, validation_example("A taken slug", {
        "slug": ["That slug is taken: choose another."]}), "INVALID_JSON"]}
UPDATE_ERRORS: dict[int, list[str | ErrorExample]] = {
    400: [validation_example("An empty body", {"request": [
        "Nothing to update: send one of " + ", ".join(terms.KNOWN) + "."]}),
        validation_example("A new currency", {"currency": [
            "A link's currency cannot change: make a new link."]}), "INVALID_JSON"],
    404: [LINK_NOT_FOUND]}
LIST_ERRORS: dict[int, list[str | ErrorExample]] = {400: [
    validation_example("Unknown cursor", {"starting_after": ["Unknown payment link id."]})]}


def _body(model: type[Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}


async def _shown(request: Request, session: Session, principal: Principal,
                 links: list[PaymentLink]) -> list[dict[str, Any]]:
    base = public_base_url(app_context(request), principal.merchant_base_url)
    paid = await service.paid_counts(session, [link.id for link in links])
    return [service.serialize(link, base_url=base, paid=paid.get(link.id, 0))
            for link in links]


@router.post(
    LINKS, status_code=201, tags=[TAG], summary="Create a payment link",
    response_model=PaymentLinkOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=CREATE_ERRORS),
    openapi_extra=_body(PaymentLinkCreate),
)
async def create_payment_link(request: Request, principal: Writer,
                              session: Session) -> Response:
    """A page customers pay on without the merchant having a website: share its `url`.
    Payments made there are ordinary payments (same checkout, webhooks and ledger) with
    `metadata.payment_link` and the customer's field answers; each paid one also sends
    `link.paid`."""
    body = await json_object(request)
    link = await service.create_link(session, principal.scope, body,
                                     settings=app_context(request).settings)
    [shown] = await _shown(request, session, principal, [link])
    await audit_api(session, request, principal, "payment_link.created",
                    object_type="payment_link", object_id=link.id,
                    details=service.audited(shown))
    return json_response(201, shown)


@router.get(
    LINKS, tags=[TAG], summary="List payment links", response_model=PaymentLinkList,
    responses=ErrorResponses(codes=LIST_ERRORS),
)
async def list_payment_links(
    request: Request, principal: Reader, session: Session,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE,
                                description=f"Page size, 1 to {MAX_PAGE}.")] = DEFAULT_PAGE,
    starting_after: Annotated[str | None, Query(
        max_length=32, description="`next_cursor` of the previous page.")] = None,
) -> Response:
    """The brand's links in the key's mode, newest first, with how many were paid."""
    rows, has_more = await service.list_links(session, principal.scope, limit=limit,
                                              starting_after=starting_after)
    shown = await _shown(request, session, principal, rows)
    return json_response(200, {"data": shown, "has_more": has_more,
                               "next_cursor": rows[-1].id if has_more and rows else None})


@router.get(
    LINKS + "/{link_id}", tags=[TAG], summary="Retrieve a payment link",
    response_model=PaymentLinkOut, responses=ErrorResponses(codes={404: [LINK_NOT_FOUND]}),
)
async def get_payment_link(link_id: LinkId, request: Request, principal: Reader,
                           session: Session) -> Response:
    """One link. Another brand's or mode's id is 404."""
    link = await service.get_link(session, principal.scope, link_id)
    [shown] = await _shown(request, session, principal, [link])
    return json_response(200, shown)


@router.patch(
    LINKS + "/{link_id}", tags=[TAG], summary="Update a payment link",
    response_model=PaymentLinkOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=UPDATE_ERRORS),
    openapi_extra=_body(PaymentLinkUpdate),
)
async def update_payment_link(link_id: LinkId, request: Request, principal: Writer,
                              session: Session) -> Response:
    """Change only the fields sent (checked with the rest of the link's terms). Payments
    already made keep what they were made with; `active: false` stops new ones at once."""
    body = await json_object(request)
    before_link = await service.get_link(session, principal.scope, link_id)
    [before] = await _shown(request, session, principal, [before_link])
    link = await service.update_link(session, principal.scope, link_id, body,
                                     settings=app_context(request).settings)
    [shown] = await _shown(request, session, principal, [link])
    await audit_api(session, request, principal, "payment_link.updated",
                    object_type="payment_link", object_id=link.id,
                    details=audit.changes(service.audited(before), service.audited(shown)))
    return json_response(200, shown)
