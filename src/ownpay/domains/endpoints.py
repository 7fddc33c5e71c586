"""``/api/v1/domains``: thin routes over ``domains/service.py``.

A domain belongs to the brand, not to a mode (one checkout host serves test and live
payments), so an ``admin`` key of either mode manages the brand's domains, as it manages
webhooks; another brand's domain is a 404.  Each change is audited in the request's
transaction; verifying asks DNS outside any transaction (``service.verify``).

``GET /tls/ask`` (not in the API's document: it is the reverse proxy's, not a merchant's)
answers whether a certificate may be issued for a host.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from ownpay.domains import presenters, service
from ownpay.domains.schemas import DomainCreate, DomainDeleted, DomainList, DomainOut
from ownpay.errors import ValidationFailed, json_response
from ownpay.urls import BadUrl, ascii_domain
from ownpay.web.body import json_object
from ownpay.web.client import client_ip
from ownpay.web.deps import Admin, Session, app_context, audit_api, unit_of_work
from ownpay.web.openapi import (
    JSON_BODY_ERRORS,
    ErrorExample,
    ErrorResponses,
    invalid_state_example,
    not_found_example,
    validation_example,
)

router = APIRouter()
DOMAINS = "/api/v1/domains"
TAG = "Domains"
DomainId = Annotated[str, Path(description="The domain's `id` (`dom_…`).")]

NOT_FOUND = not_found_example(service.DOMAIN_NOT_FOUND, "No such domain for this key's brand")
CREATE_ERRORS: dict[int, list[str | ErrorExample]] = {400: [
    validation_example("Not a host name", {"domain": [
        "The domain must be a host name, not an IP address or a URL."]}),
    validation_example("Already in use", {"domain": [service.TAKEN]}),
    validation_example("An unknown field", {"colour": ["Unknown field."]}),
    "INVALID_JSON"]}
PRIMARY_ERRORS: dict[int, list[str | ErrorExample]] = {
    404: [NOT_FOUND],
    409: [invalid_state_example(
        "Only a verified domain can be the primary one: verify it first.", "Not verified")]}


def _body(model: type[Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}


def _shown(request: Request, row: Any) -> dict[str, Any]:
    return presenters.domain_view(app_context(request).settings, row)


@router.post(
    DOMAINS, status_code=201, tags=[TAG], summary="Add a domain",
    response_model=DomainOut,
    responses=ErrorResponses(*JSON_BODY_ERRORS, codes=CREATE_ERRORS),
    openapi_extra=_body(DomainCreate),
)
async def add_domain(request: Request, principal: Admin, session: Session) -> Response:
    """Add a host name your customers will pay on. It starts `pending`: create the
    `dns_records` of the answer, then call `verify` (the worker also checks new and
    pending domains on its own)."""
    body = await json_object(request)
    unknown = sorted(set(body) - {"domain"})
    if unknown:
        raise ValidationFailed(errors={name: ["Unknown field."] for name in unknown})
    row = await service.add_domain(session, principal.merchant_id, body.get("domain"),
                                   settings=app_context(request).settings)
    await audit_api(session, request, principal, "domain.added", object_type="domain",
                    object_id=row.id, details={"domain": row.domain})
    return json_response(201, _shown(request, row))


@router.get(DOMAINS, tags=[TAG], summary="List domains", response_model=DomainList,
            responses=ErrorResponses())
async def list_domains(request: Request, principal: Admin, session: Session) -> Response:
    """The brand's domains, oldest first, whichever mode the key is."""
    rows = await service.list_domains(session, principal.merchant_id)
    return json_response(200, {"data": [_shown(request, row) for row in rows]})


@router.get(DOMAINS + "/{domain_id}", tags=[TAG], summary="Retrieve a domain",
            response_model=DomainOut, responses=ErrorResponses(codes={404: [NOT_FOUND]}))
async def get_domain(domain_id: DomainId, request: Request, principal: Admin,
                     session: Session) -> Response:
    """One domain, with its status and the last check's error."""
    row = await service.get_domain(session, principal.merchant_id, domain_id)
    return json_response(200, _shown(request, row))


@router.delete(DOMAINS + "/{domain_id}", tags=[TAG], summary="Remove a domain",
               response_model=DomainDeleted, responses=ErrorResponses(codes={404: [NOT_FOUND]}))
async def remove_domain(domain_id: DomainId, request: Request, principal: Admin,
                        session: Session) -> Response:
    """Stop serving the brand on this domain at once. If it was the primary one, new
    payment URLs use the installation's address (or the brand's `base_url`)."""
    row = await service.remove_domain(session, principal.merchant_id, domain_id)
    await audit_api(session, request, principal, "domain.removed", object_type="domain",
                    object_id=row.id, details={"domain": row.domain})
    service.forget_cached(app_context(request))
    return json_response(200, {"id": row.id, "deleted": True})


@router.post(DOMAINS + "/{domain_id}/verify", tags=[TAG], summary="Check a domain now",
             response_model=DomainOut, responses=ErrorResponses(codes={404: [NOT_FOUND]}))
async def verify_domain(domain_id: DomainId, request: Request, principal: Admin) -> Response:
    """Ask DNS now: the TXT record `_ownpay-verification.<domain>` must contain the token
    and every address of the domain must be this installation's. The answer is the domain
    after the check: `verified`, or still `pending` with `last_error` saying what is
    missing. A failed check is not an error (200)."""
    ctx = app_context(request)
    row = await service.verify(ctx, principal.merchant_id, domain_id)  # own transactions
    async with unit_of_work(ctx) as session:
        await audit_api(session, request, principal, "domain.checked", object_type="domain",
                        object_id=row.id, details={"domain": row.domain, "status": row.status})
    return json_response(200, _shown(request, row))


@router.post(DOMAINS + "/{domain_id}/primary", tags=[TAG], summary="Make a domain primary",
             response_model=DomainOut, responses=ErrorResponses(codes=PRIMARY_ERRORS))
async def make_primary(domain_id: DomainId, request: Request, principal: Admin,
                       session: Session) -> Response:
    """Payment URLs (`payment_url`), payment-link URLs and provider return addresses use
    `https://<domain>` from now on, while the domain is verified. One primary per brand."""
    row = await service.set_primary(session, principal.merchant_id, domain_id)
    await audit_api(session, request, principal, "domain.primary", object_type="domain",
                    object_id=row.id, details={"domain": row.domain})
    service.forget_cached(app_context(request))
    return json_response(200, _shown(request, row))


@router.get("/tls/ask", include_in_schema=False)
async def tls_ask(request: Request) -> Response:
    """The reverse proxy's question before it gets a certificate on demand (Caddy's
    ``on_demand_tls { ask … }``): ``200`` for a verified brand domain, ``404`` for anything
    else (pending, suspended, unknown, malformed). No authentication -- it reveals only
    what DNS already shows -- but limited per client IP (``tls_ask_ip``)."""
    ctx = app_context(request)
    refused = await ctx.rate_limiter.hit(
        "tls_ask_ip", client_ip(request.scope, ctx.settings.trusted_proxies))
    if refused is not None:
        return Response("too many requests\n", status_code=429, media_type="text/plain",
                        headers=refused.headers())
    name = request.query_params.get("domain", "")
    try:
        host = ascii_domain(name)
    except BadUrl:
        host = None
    brand = await service.brand_of_host(ctx, host) if host else None
    if brand is None or brand.status != "verified":
        return Response("unknown domain\n", status_code=404, media_type="text/plain")
    return Response("ok\n", media_type="text/plain")
