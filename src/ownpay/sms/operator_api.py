"""The merchant API's SMS routes (scoped to the API key's brand and mode like everything
else): the paired devices (scope ``read``), a pairing code and revocation (scope ``admin``),
and the forwarded messages with what was decided about each (scope ``read``).  The phone's
own API is ``sms/endpoints.py``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from ownpay.db import utcnow
from ownpay.errors import NotFound, RateLimited, ValidationFailed, json_response
from ownpay.sms import devices, repository
from ownpay.sms.presenters import message_view
from ownpay.timefmt import iso_required
from ownpay.web.body import optional_reason
from ownpay.web.deps import Admin, Reader, Session, app_context, audit_api
from ownpay.web.openapi import (
    ErrorExample,
    ErrorResponses,
    not_found_example,
    validation_example,
)

router = APIRouter(tags=["SMS verification"])
NO_DEVICE = "No such device."


class ReasonIn(BaseModel):
    """Optional body: why (kept in the audit log)."""

    model_config = {"extra": "forbid"}

    reason: str | None = Field(default=None, max_length=500,
                               description="Why; kept in the audit log.")


Reason = Annotated[str | None, Depends(optional_reason)]
REASON_BODY = {"requestBody": {"required": False, "content": {"application/json": {
    "schema": ReasonIn.model_json_schema()}}}}
REASON_ERRORS: dict[int, list[str | ErrorExample]] = {400: [
    validation_example("`reason` is not a string of at most 500 characters", {
        "reason": ["The reason must be a string of at most 500 characters."]}),
    "INVALID_JSON"]}


class SmsDeviceOut(BaseModel):
    id: str = Field(description="The device's id.", examples=["dev_4f1a2b3c4d5e6f70"])
    kind: Literal["app", "forwarder"] = Field(
        description="`app`: paired with a code; `forwarder`: posts to a secret URL.")
    name: str = Field(description="What it was named when paired.", examples=["shop phone"])
    platform: str | None = Field(description="As the app reported it.", examples=["android"])
    app_version: str | None = Field(description="As the app reported it.", examples=["1.4.0"])
    battery: int | None = Field(description="% in its last heartbeat.", examples=[76])
    last_sequence: int | None = Field(description="The highest sequence number received.")
    last_seen_at: str | None = Field(description="Last heartbeat or upload (UTC).")
    created_at: str | None = Field(description="When it was paired (UTC).")
    offline_since: str | None = Field(description="Set while it is reported offline.")
    revoked_at: str | None = Field(description="When it was revoked (UTC), or null.")
    revoked_reason: str | None = Field(description="Why it was revoked.")


class SmsDeviceList(BaseModel):
    data: list[SmsDeviceOut] = Field(description="Oldest first.")


class PairingCodeOut(BaseModel):
    code: str = Field(description="6 digits, shown once.", examples=["482913"])
    expires_at: str = Field(description="5 minutes from now (UTC).",
                            examples=["2026-12-04T19:05:00Z"])
    mode: Literal["test", "live"] = Field(
        description="The mode the device will belong to: the key's.")
    pair_url: str = Field(description="Where the app exchanges it.",
                          examples=["https://pay.example.com/api/mobile/v1/devices"])


class SmsMessageOut(BaseModel):
    id: str = Field(description="The message's id.", examples=["sms_1a2b3c4d5e6f7a8b"])
    device_id: str = Field(description="The device that forwarded it first.")
    sequence: int | None = Field(
        description="The device's sequence number for it, if it sends them.")
    sender: str = Field(description="The sender id the phone showed.", examples=["bKash"])
    body: str = Field(description="The text; empty for a sender that is no wallet provider.")
    received_at: str | None = Field(description="When the phone received it (UTC).")
    kind: str = Field(description="received, cash_in, debit, cashback, otp, promotion, "
                      "unrecognised or not_a_provider.", examples=["received"])
    provider: str | None = Field(description="The wallet provider whose sender id it came "
                                 "from.", examples=["bkash"])
    pattern: str | None = Field(description="The message shape that read it.",
                                examples=["bkash.received"])
    amount: str | None = Field(description="Taka, two decimals.", examples=["500.00"])
    fee: str | None = Field(description="The fee the text states, taka.")
    balance: str | None = Field(description="The wallet balance the text states, taka.")
    party: str | None = Field(description="The other wallet or account named.",
                              examples=["01812345678"])
    reference: str | None = Field(description="The free-text reference, if any.")
    trx_id: str | None = Field(description="The provider's transaction id.",
                               examples=["BHQ4K8L2ZP"])
    sent_at: str | None = Field(description="The time in the text (UTC).")
    status: Literal["matched", "waiting", "review", "ignored"] = Field(
        description="`matched` (it verified a payment), `waiting` (a credit no payment "
        "claims yet), `review` (an operator decides) or `ignored` (never a payment).")
    payment_id: str | None = Field(description="The payment it verified, or was reviewed "
                                   "over.", examples=["txn_9f2c3a4b5d6e7f8a"])
    decision: str | None = Field(description="The rule applied and why.",
                                 examples=["trx_id: completed payment txn_9f2c3a4b5d6e7f8a"])


class SmsMessageList(BaseModel):
    data: list[SmsMessageOut] = Field(description="Newest first.")


@router.get("/api/v1/sms/devices", summary="List paired devices", response_model=SmsDeviceList)
async def list_devices(principal: Reader, session: Session) -> Response:
    """The phones and forwarder apps paired to the key's brand and mode, revoked ones
    included. Tokens and secrets are never shown."""
    rows = await devices.listing(session, principal.scope)
    return json_response(200, {"data": [devices.presented(d) for d in rows]})


@router.post(
    "/api/v1/sms/pairing-codes", summary="Make a one-time pairing code", status_code=201,
    response_model=PairingCodeOut, responses=ErrorResponses(codes=REASON_ERRORS),
    openapi_extra=REASON_BODY,
)
async def make_pairing_code(request: Request, principal: Admin, reason: Reason,
                            session: Session) -> Response:
    """A 6-digit code the phone app exchanges at `POST /api/mobile/v1/devices` for its
    tokens and key (docs/sms-verification.md). Valid 5 minutes, once; the brand's earlier
    unused codes stop working. Limited per brand (`OWNPAY_RATE_LIMIT_PAIRING_CODES`)."""
    ctx = app_context(request)
    refused = await ctx.rate_limiter.hit("pairing_codes", str(principal.merchant_id))
    if refused is not None:
        raise RateLimited(headers=refused.headers())
    code, expires = await devices.create_pairing_code(session, principal.scope, now=utcnow())
    await audit_api(session, request, principal, "device.pairing_code",
                    object_type="sms_device", object_id=None,
                    details={"reason": reason} if reason else None)
    return json_response(201, {
        "code": code, "expires_at": iso_required(expires), "mode": principal.mode,
        "pair_url": f"{ctx.settings.base_url.rstrip('/')}/api/mobile/v1/devices"},
        headers={"Cache-Control": "no-store"})


@router.post(
    "/api/v1/sms/devices/{device_id}/revoke", summary="Revoke a device",
    response_model=SmsDeviceOut,
    responses=ErrorResponses(codes={**REASON_ERRORS, 404: [not_found_example(NO_DEVICE)]}),
    openapi_extra=REASON_BODY,
)
async def revoke_device(device_id: Annotated[str, Path(description="The device's id.")],
                        request: Request, principal: Admin, reason: Reason,
                        session: Session) -> Response:
    """Its tokens (or forwarding URL) stop working at once; its messages stay. Revoking a
    revoked device changes nothing and answers it as it is."""
    try:
        device = await devices.get(session, principal.scope, device_id[:40])
    except LookupError:
        raise NotFound(NO_DEVICE) from None
    if await devices.revoke(session, device, reason=reason or "revoked through the API",
                            now=utcnow()):
        await audit_api(session, request, principal, "device.revoked",
                        object_type="sms_device", object_id=device.id,
                        details={"reason": reason} if reason else None)
    await session.refresh(device)
    return json_response(200, devices.presented(device))


@router.get(
    "/api/v1/sms/messages", summary="List forwarded SMS", response_model=SmsMessageList,
    responses=ErrorResponses(codes={400: [validation_example("Unknown status and limit", {
        "status": ["One of matched, waiting, review, ignored."],
        "limit": ["A whole number from 1 to 200."]})]}),
)
async def list_messages(
    principal: Reader, session: Session,
    status: Annotated[str | None, Query(description="matched, waiting (a credit no payment "
                                        "claims yet), review or ignored.")] = None,
    limit: Annotated[str, Query(description="1 to 200, default 50.")] = "50",
) -> Response:
    """The brand's forwarded messages, newest first, with what the parsers read and what
    was decided (`decision` names the rule). Messages in `review` wait for an operator:
    approve or reject the payment named in `payment_id`, if any."""
    errors: dict[str, list[str]] = {}
    if status is not None and status not in repository.STATUSES:
        errors["status"] = ["One of matched, waiting, review, ignored."]
    count = int(limit) if limit.isascii() and limit.isdigit() and len(limit) < 4 else 0
    if not 1 <= count <= 200:
        errors["limit"] = ["A whole number from 1 to 200."]
    if errors:
        raise ValidationFailed(errors=errors)
    rows = await repository.recent_messages(session, principal.scope, status=status,
                                            limit=count)
    return json_response(200, {"data": [message_view(r) for r in rows]})
