"""The phone's API, ``/api/mobile/v1/…`` (docs/sms-verification.md "The device API").

A paired phone authenticates with its access token (``Authorization: Bearer opd_…``), never
with a merchant's API key; these routes are therefore not in ``/openapi.json`` (which
describes the merchant API) but in the guide.  Errors are the API's envelope
(``{"error": true, "message", "code"}``), 401 for every authentication failure alike.

* ``POST /api/mobile/v1/devices`` -- pair: the operator's 6-digit code → the device id,
  tokens and the per-device AES key (OwnPay companion app's request shape);
* ``POST /api/mobile/v1/token`` -- rotate the tokens with the refresh token;
* ``POST /api/mobile/v1/heartbeat`` -- battery, app version, last sequence number;
* ``POST /api/mobile/v1/sms`` -- up to 200 messages, each its text AES-256-GCM encrypted
  with the device key (``encrypted_payload``: base64 of IV ‖ ciphertext ‖ tag) or, from
  our own client only, in clear (``body``);
* ``POST /api/mobile/v1/forward/{secret}`` -- one message in the generic SMS-forwarder
  app's shape (``from``, ``text``, ``sentStamp``, ``receivedStamp``, ``sim``).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from ownpay.db import utcnow
from ownpay.errors import (
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
    error_response,
    json_response,
)
from ownpay.sms import devices, ingest
from ownpay.sms.models import SmsDevice
from ownpay.timefmt import iso_required
from ownpay.web.body import parse_json_object, read_bounded
from ownpay.web.client import client_ip
from ownpay.web.deps import app_context, session_dep

router = APIRouter(prefix="/api/mobile/v1", include_in_schema=False)
Session = Annotated[AsyncSession, Depends(session_dep, scope="function")]
MAX_UPLOAD = 1_000_000  # 200 messages of a few KiB each, under the 1 MiB bound of any body
IV, TAG = 12, 16


async def _body(request: Request, limit: int = 64 * 1024) -> dict[str, Any]:
    raw = await read_bounded(request, limit=limit, too_large=PayloadTooLarge())
    return parse_json_object(raw)


def _text(body: dict[str, Any], name: str, *, limit: int, required: bool = True,
          errors: dict[str, list[str]]) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            errors[name] = ["Required."]
        return None
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        errors[name] = [f"A string of at most {limit} printable characters."]
        return None
    return value.strip()


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors=errors)


async def _limited(request: Request, rule: str, *key: str) -> None:
    refused = await app_context(request).rate_limiter.hit(rule, *key)
    if refused is not None:
        raise RateLimited(headers=refused.headers())


async def current_device(request: Request, session: Session) -> SmsDevice:
    """The device behind ``Authorization: Bearer <access token>``; 401 otherwise (an
    unknown, expired or revoked token alike).  Failures count against the client IP."""
    ctx = app_context(request)
    ip = client_ip(request.scope, ctx.settings.trusted_proxies)
    if await ctx.rate_limiter.exceeded("api_auth_failures_ip", ip):
        raise RateLimited()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    device = None
    if scheme.lower() == "bearer" and token.startswith("opd_") and len(token) < 100:
        device = await devices.by_access_token(session, token.strip(), now=utcnow())
    if device is None:
        await ctx.rate_limiter.hit("api_auth_failures_ip", ip)
        raise Unauthenticated("The device token is missing, expired or revoked.")
    return device


Device = Annotated[SmsDevice, Depends(current_device)]


def _tokens(tokens: devices.Tokens) -> dict[str, Any]:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "token_type": "Bearer", "expires_at": iso_required(tokens.expires_at)}


@router.post("/devices", status_code=201)
async def pair_device(request: Request, session: Session) -> Response:
    ctx = app_context(request)
    ip = client_ip(request.scope, ctx.settings.trusted_proxies)
    await _limited(request, "device_pairing_ip", ip)
    await _limited(request, "device_pairing", "all")
    body = await _body(request)
    errors: dict[str, list[str]] = {}
    code = _text(body, "pairing_code", limit=6, errors=errors)
    name = _text(body, "device_name", limit=100, required=False, errors=errors)
    client_id = _text(body, "device_id", limit=100, required=False, errors=errors)
    platform = _text(body, "platform", limit=20, required=False, errors=errors)
    version = _text(body, "app_version", limit=40, required=False, errors=errors)
    wallets = _wallets(body, errors)
    _refuse(errors)
    paired = await devices.pair(session, ctx.keyring, code or "", name=name or "phone",
                                client_device_id=client_id, platform=platform,
                                app_version=version, now=utcnow(), wallets=wallets)
    if paired is None:
        raise Unauthenticated("The pairing code is unknown, used or expired: ask for a new one.")
    return json_response(201, {"device_id": paired.device.id, "mode": paired.device.mode,
                               "aes_key": paired.aes_key, **_tokens(paired.tokens)},
                         headers={"Cache-Control": "no-store"})


@router.post("/token")
async def refresh_token(request: Request, session: Session) -> Response:
    ip = client_ip(request.scope, app_context(request).settings.trusted_proxies)
    await _limited(request, "device_pairing_ip", ip)
    body = await _body(request)
    errors: dict[str, list[str]] = {}
    token = _text(body, "refresh_token", limit=100, errors=errors)
    _refuse(errors)
    tokens = await devices.refresh(session, token or "", now=utcnow())
    if tokens is None:  # answered, not raised: a revocation for reuse must commit
        return error_response(Unauthenticated(
            "The refresh token is unknown, used or revoked: pair again."))
    return json_response(200, _tokens(tokens), headers={"Cache-Control": "no-store"})


def _wallets(body: dict[str, Any], errors: dict[str, list[str]]) -> list[str] | None:
    """Optional ``wallet_numbers``: the wallets whose SMS the phone receives."""
    if body.get("wallet_numbers") is None:
        return None
    wallets = devices.wallet_list(body["wallet_numbers"])
    if wallets is None:
        errors["wallet_numbers"] = [f"Up to {devices.MAX_WALLETS} mobile numbers (01…)."]
    return wallets


def _count(body: dict[str, Any], name: str, *, low: int, high: int,
           errors: dict[str, list[str]]) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = [f"A whole number from {low} to {high}."]
        return None
    return value


@router.post("/heartbeat")
async def heartbeat(request: Request, session: Session, device: Device) -> Response:
    body = await _body(request)
    errors: dict[str, list[str]] = {}
    battery = _count(body, "battery", low=0, high=100, errors=errors)
    version = _text(body, "app_version", limit=40, required=False, errors=errors)
    last = _count(body, "last_sequence", low=0, high=2**62, errors=errors)
    wallets = _wallets(body, errors)
    _refuse(errors)
    await devices.heartbeat(session, device, battery=battery, app_version=version,
                            now=utcnow(), wallets=wallets)
    behind = None if last is None or device.last_sequence is None else max(
        0, last - device.last_sequence)
    return json_response(200, {"device_id": device.id, "server_last_sequence":
                               device.last_sequence, "missing_after_last": behind})


def _moment(value: Any) -> datetime | None:
    """ISO 8601 with an offset, or Unix time in seconds or milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        if text.isascii() and text.isdigit():
            return _moment(int(text))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment.astimezone(UTC) if moment.tzinfo else None
    return None


def _decrypt(key: bytes, payload: Any) -> tuple[str, str | None] | None:
    """The clear text of ``encrypted_payload``: JSON ``{"sender"?, "body"}`` or the bare
    message text.  None when it is not base64 or does not decrypt under the device key."""
    if not isinstance(payload, str) or len(payload) > 16_000:
        return None
    try:
        blob = base64.b64decode(payload, validate=True)
        clear = AESGCM(key).decrypt(blob[:IV], blob[IV:], None) if len(blob) > IV + TAG else None
    except (binascii.Error, ValueError, InvalidTag):
        return None
    if clear is None:
        return None
    try:
        text = clear.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        inner = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text, None
    if isinstance(inner, dict) and isinstance(inner.get("body"), str):
        sender = inner.get("sender")
        return inner["body"], sender if isinstance(sender, str) else None
    return text, None


def _one(raw: Any, key: bytes | None) -> ingest.Incoming | str:
    if not isinstance(raw, dict):
        return "each message is a JSON object"
    local = raw.get("local_id")
    if local is not None and not isinstance(local, str | int):
        return "local_id is a string"
    sender: Any = raw.get("sender")
    text: Any
    if "encrypted_payload" in raw:
        opened = _decrypt(key, raw["encrypted_payload"]) if key else None
        if opened is None:
            return "encrypted_payload does not decrypt with this device's key"
        text, inner_sender = opened
        sender = sender or inner_sender
    else:
        text = raw.get("body")
    if not isinstance(sender, str) or not isinstance(text, str):
        return "sender and the message text are required"
    if "\x00" in text or "\x00" in sender:
        return "the text holds a NUL character"
    received = _moment(raw.get("received_at"))
    if received is None:
        return "received_at is an ISO 8601 time with an offset, or Unix time"
    sequence = raw.get("sequence")
    if sequence is not None and (isinstance(sequence, bool) or not isinstance(sequence, int)
                                 or not 1 <= sequence <= 2**62):
        return "sequence is a whole number from 1"
    return ingest.Incoming(sender=sender, body=text, received_at=received, sequence=sequence,
                           local_id=None if local is None else str(local))


@router.post("/sms")
async def upload_sms(request: Request, session: Session, device: Device) -> Response:
    body = await _body(request, limit=MAX_UPLOAD)
    messages = body.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= ingest.MAX_BATCH:
        raise ValidationFailed(errors={
            "messages": [f"A list of 1 to {ingest.MAX_BATCH} messages."]})
    key = devices.aes_key(app_context(request).keyring, device) if device.aes_key_enc else None
    read = [_one(raw, key) for raw in messages]
    now = utcnow()
    valid = [m for m in read if isinstance(m, ingest.Incoming)]
    device_id = device.id
    outcomes, last = await ingest.ingest(session, device, valid, now=now)
    stored = iter(outcomes)
    results: list[dict[str, Any]] = []
    for raw, item in zip(messages, read, strict=True):
        if isinstance(item, str):
            local = raw.get("local_id") if isinstance(raw, dict) else None
            shown: dict[str, Any] = {"status": ingest.REJECTED, "reason": item}
            if isinstance(local, str | int) and not isinstance(local, bool):
                shown["local_id"] = str(local)
            results.append(shown)
        else:
            results.append(next(stored).as_dict())
    return json_response(200, {"device_id": device_id, "last_sequence": last,
                               "results": results})


@router.post("/forward/{secret}")
async def forwarder(secret: str, request: Request, session: Session) -> Response:
    """The generic forwarder app's one-message POST.  The URL's secret is the credential:
    an unknown one is the same 401 as a revoked one, and counts against the client IP."""
    ctx = app_context(request)
    ip = client_ip(request.scope, ctx.settings.trusted_proxies)
    if await ctx.rate_limiter.exceeded("api_auth_failures_ip", ip):
        raise RateLimited()
    device = await devices.by_forward_secret(session, secret) if len(secret) < 100 else None
    if device is None:
        await ctx.rate_limiter.hit("api_auth_failures_ip", ip)
        raise Unauthenticated("Unknown or revoked forwarding URL.")
    body = await _body(request)
    item = _one({"sender": body.get("from"), "body": body.get("text"),
                 "received_at": body.get("receivedStamp", body.get("sentStamp"))}, None)
    if isinstance(item, str):
        raise ValidationFailed(errors={"message": [item]})
    (outcome,), _ = await ingest.ingest(session, device, [item], now=utcnow())
    return json_response(200, outcome.as_dict())
