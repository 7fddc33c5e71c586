"""Wallet SMS verification (issue 13) for the brand and mode shown: the inbox of forwarded
messages, the review queue, the paired phones and forwarders (pairing codes, forwarder
URLs, revocation, alerts) and the pattern tester.

The same behaviour as the CLI (``ownpay/sms/cli.py``): the ``pairing_codes`` rate limit,
audit rows in the request's transaction, a code or forwarder secret shown once and never
stored.  Every query is filtered by the brand and mode shown; another brand's device or
alert is a 404.  Installation operators also see the installation's own phones (``whose=
installation`` in the query or the form: their devices, alerts and the messages no brand
was given yet); for anyone else that is a 404 too."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.responses import Response

from ownpay import audit, money
from ownpay.dashboard.roles import Permission, is_installation_role
from ownpay.dashboard.scoped import scope_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.db import utcnow
from ownpay.gateways.personal import qr_data_uri
from ownpay.payments import states
from ownpay.payments.models import PaymentIntent
from ownpay.sms import devices
from ownpay.sms.matching import IGNORED, MATCHED, REVIEW, WAITING, gateways_reading
from ownpay.sms.models import SmsAlert, SmsDevice, SmsMessage, owned_by
from ownpay.sms.parsing import MAX_LENGTH, parse
from ownpay.sms.presenters import message_view
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(require(Permission.READ))]
Reviewer = Annotated[Viewer, Depends(require(Permission.PAYMENTS_ACT))]
DeviceAdmin = Annotated[Viewer, Depends(require(Permission.SMS_DEVICES))]
DeviceConfirmed = Annotated[Viewer, Depends(require(Permission.SMS_DEVICES, step_up=True))]

PAGE_SIZE = 50
QUEUE_LIMIT = 200
STATUSES = (MATCHED, WAITING, REVIEW, IGNORED)
STATUS_LABELS = {MATCHED: "Matched", WAITING: "Waiting", REVIEW: "Review",
                 IGNORED: "Ignored"}
SENDERS = ("bKash", "NAGAD", "16216", "upay")
MESSAGE_ID = re.compile(r"sms_[0-9a-f]{16}")
SENDER_LIMIT = 40
NAME_LIMIT = 100


def _sub(viewer: Viewer) -> dict[str, bool]:
    """Which tabs of the SMS section this user sees."""
    return {"review": viewer.can(Permission.PAYMENTS_ACT),
            "devices": True, "tester": True}


WHOSE = "installation"


def _owner(request: Request, viewer: Viewer) -> devices.Owner:
    """The brand shown -- or, asked for with ``whose=installation`` by an installation
    operator, the installation's own phones; anything else asked for is a 404."""
    asked = request.query_params.get("whose") or viewer.form.get("whose")
    if not asked:
        return scope_of(viewer)
    if asked != WHOSE or not is_installation_role(viewer.user.role):
        raise Gone()
    scope_of(viewer)  # a brand is still shown around the page
    return devices.Installation(viewer.mode)


def _suffix(owner: devices.Owner, sep: str = "?") -> str:
    """What keeps a link or redirect on the installation's phones."""
    return f"{sep}whose={WHOSE}" if owner.merchant_id is None else ""


def _page(request: Request, viewer: Viewer, template: str, context: dict[str, Any], *,
          status_code: int = 200, owner: devices.Owner | None = None) -> Response:
    shared = {"tabs": _sub(viewer), "installation_view": owner is not None
              and owner.merchant_id is None,
              "installation_ok": is_installation_role(viewer.user.role)}
    return render(request, template, {**shared, **context}, viewer=viewer,
                  status_code=status_code)


async def _device_names(session: AsyncSession, scope: devices.Owner) -> dict[str, str]:
    rows = await session.execute(select(SmsDevice.id, SmsDevice.name).where(
        owned_by(SmsDevice.merchant_id, scope.merchant_id), SmsDevice.mode == scope.mode))
    return {row.id: row.name for row in rows}


def _message(row: SmsMessage, names: dict[str, str]) -> dict[str, Any]:
    view = message_view(row)
    view["device"] = names.get(row.device_id, row.device_id)
    view["label"] = STATUS_LABELS.get(row.status, row.status)
    view["received"] = row.received_at
    return view


# ---- the inbox -----------------------------------------------------------------------------


@router.get("/admin/sms")
async def inbox(request: Request, session: Session, viewer: Reader) -> Response:
    """Newest first, ``PAGE_SIZE`` at a time (keyset: ``before`` = the last message shown)."""
    scope = _owner(request, viewer)
    params = request.query_params
    status = params.get("status", "")
    errors: dict[str, list[str]] = {}
    if status and status not in STATUSES:
        errors["status"] = ["Choose matched, waiting, review or ignored."]
    before = params.get("before", "")
    if before and not MESSAGE_ID.fullmatch(before):
        errors["before"] = ["That page of older messages does not exist: start again."]
    mine = (owned_by(SmsMessage.merchant_id, scope.merchant_id), SmsMessage.mode == scope.mode)
    rows: list[SmsMessage] = []
    next_url = None
    if not errors:
        query = select(SmsMessage).where(*mine)
        if status:
            query = query.where(SmsMessage.status == status)
        if before:
            anchor = await session.scalar(select(SmsMessage).where(SmsMessage.id == before,
                                                                   *mine))
            if anchor is not None:
                query = query.where(or_(
                    SmsMessage.created_at < anchor.created_at,
                    and_(SmsMessage.created_at == anchor.created_at,
                         SmsMessage.id < anchor.id)))
        rows = list(await session.scalars(query.order_by(
            SmsMessage.created_at.desc(), SmsMessage.id.desc()).limit(PAGE_SIZE + 1)))
        if len(rows) > PAGE_SIZE:
            rows = rows[:PAGE_SIZE]
            kept = [("status", status)] if status else []
            if scope.merchant_id is None:
                kept.append(("whose", WHOSE))
            next_url = "/admin/sms?" + str(QueryParams([*kept, ("before", rows[-1].id)]))
    names = await _device_names(session, scope)
    first = [("status", status)] if status else []
    if scope.merchant_id is None:
        first.append(("whose", WHOSE))
    return _page(request, viewer, "sms_inbox.html", {
        "rows": [_message(r, names) for r in rows], "status": status, "errors": errors,
        "statuses": [(s, STATUS_LABELS[s]) for s in STATUSES], "next_url": next_url,
        "first_url": ("/admin/sms" + (f"?{QueryParams(first)}" if first else ""))
        if params.get("before") else None},
        status_code=400 if errors else 200, owner=scope)


# ---- the review queue ----------------------------------------------------------------------


def _age(since: datetime, now: datetime) -> str:
    minutes = max(int((now - since).total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


@router.get("/admin/sms/review")
async def review_queue(request: Request, session: Session, viewer: Reviewer) -> Response:
    scope = scope_of(viewer)
    now = utcnow()
    P = PaymentIntent  # noqa: N806
    waiting = list(await session.scalars(
        select(P).where(P.merchant_id == scope.merchant_id, P.mode == scope.mode,
                        P.gateway.in_(gateways_reading()),
                        P.status == states.AWAITING_VERIFICATION)
        .order_by(P.created_at, P.id).limit(QUEUE_LIMIT)))
    names = await _device_names(session, scope)
    about: dict[str, list[dict[str, Any]]] = {}
    if waiting:
        considered = await session.scalars(select(SmsMessage).where(
            SmsMessage.merchant_id == scope.merchant_id, SmsMessage.mode == scope.mode,
            SmsMessage.considered_payment_id.in_([p.id for p in waiting]))
            .order_by(SmsMessage.created_at, SmsMessage.id))
        for row in considered:
            about.setdefault(row.considered_payment_id or "", []).append(_message(row, names))
    unattached = await session.scalars(select(SmsMessage).where(
        SmsMessage.merchant_id == scope.merchant_id, SmsMessage.mode == scope.mode,
        SmsMessage.status == REVIEW, SmsMessage.considered_payment_id.is_(None))
        .order_by(SmsMessage.created_at, SmsMessage.id).limit(QUEUE_LIMIT))
    return _page(request, viewer, "sms_review.html", {
        "payments": [{
            "p": p, "amount": money.format_plain(p.amount_minor, p.currency),
            "sender": str((p.submission or {}).get("sender_number") or ""),
            "trx_id": str((p.submission or {}).get("trx_id") or p.provider_txn_id or ""),
            "age": _age(p.created_at, now), "decisions": about.get(p.id, [])}
            for p in waiting],
        "messages": [_message(r, names) for r in unattached]})


# ---- devices and alerts --------------------------------------------------------------------


async def _devices_page(request: Request, session: AsyncSession, viewer: Viewer, *,
                        notice: str | None = None, error: str | None = None,
                        errors: dict[str, list[str]] | None = None,
                        values: dict[str, str] | None = None,
                        status_code: int = 200) -> Response:
    scope = _owner(request, viewer)
    shown = [devices.presented(d) for d in await devices.listing(session, scope)]
    shown.sort(key=lambda d: (d["revoked_at"] is not None, str(d["created_at"])))
    alerts = list(await session.scalars(select(SmsAlert).where(
        owned_by(SmsAlert.merchant_id, scope.merchant_id), SmsAlert.mode == scope.mode,
        SmsAlert.resolved_at.is_(None)).order_by(SmsAlert.created_at, SmsAlert.id)))
    names = await _device_names(session, scope)
    return _page(request, viewer, "sms_devices.html", {
        "devices": shown, "alerts": [{"a": a, "device": names.get(a.device_id or "", "")}
                                     for a in alerts],
        "may_manage": viewer.can(Permission.SMS_DEVICES),
        "may_resolve": viewer.can(Permission.PAYMENTS_ACT),
        "notice": notice, "error": error, "errors": errors or {}, "values": values or {},
        "name_limit": NAME_LIMIT, "whose": _suffix(scope), "max_wallets": devices.MAX_WALLETS},
        status_code=status_code, owner=scope)


DONE = {"revoked": "The device is revoked: its tokens and forwarding URL stop working now.",
        "already": "The device was already revoked.",
        "resolved": "The alert is marked as looked at."}


@router.get("/admin/sms/devices")
async def devices_page(request: Request, session: Session, viewer: Reader) -> Response:
    return await _devices_page(request, session, viewer,
                               notice=DONE.get(request.query_params.get("done", "")))


def _base_url(request: Request) -> str:
    return str(ctx_of(request).settings.base_url).rstrip("/")


@router.post("/admin/sms/devices/pair")
async def device_pair(request: Request, session: Session, viewer: DeviceConfirmed) -> Response:
    """A one-time code (5 minutes): shown on this answer only, its digest stored."""
    scope = _owner(request, viewer)
    ctx = ctx_of(request)
    if await ctx.rate_limiter.hit("pairing_codes", str(scope.merchant_id or 0)):
        return await _devices_page(
            request, session, viewer, status_code=429,
            error="Too many pairing codes in the last hour. Try again later.")
    code, expires = await devices.create_pairing_code(session, scope, now=utcnow())
    await audit.record(session, viewer.actor, "device.pairing_code",
                       merchant_id=scope.merchant_id, mode=scope.mode,
                       object_type="sms_device", object_id=None)
    pair_url = f"{_base_url(request)}/api/mobile/v1/devices"
    return _page(request, viewer, "sms_paired.html", {
        "code": code, "expires_at": expires, "pair_url": pair_url, "whose": _suffix(scope),
        "qr": qr_data_uri(f"ownpay-pair:{pair_url}?code={code}")}, owner=scope)


@router.post("/admin/sms/devices/forwarder")
async def device_add_forwarder(request: Request, session: Session,
                               viewer: DeviceConfirmed) -> Response:
    """A device for the generic SMS-forwarder app: its secret URL is shown once.  An
    installation forwarder needs its wallet numbers (they decide which brands it serves)."""
    scope = _owner(request, viewer)
    name = viewer.form.get("name", "").strip()
    raw_wallets = viewer.form.get("wallets", "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > NAME_LIMIT or not name.isprintable():
        errors["name"] = [f"Give the phone a name of 1 to {NAME_LIMIT} printable characters."]
    wallets = devices.wallet_list(raw_wallets) if raw_wallets else []
    if wallets is None:
        errors["wallets"] = [f"Up to {devices.MAX_WALLETS} mobile numbers (01…), separated "
                             "by commas."]
    elif not wallets and scope.merchant_id is None:
        errors["wallets"] = ["An installation phone needs its wallet numbers: they decide "
                             "which brands' payments its messages can verify."]
    if errors or wallets is None:
        return await _devices_page(
            request, session, viewer, status_code=400, errors=errors,
            values={"name": name[:NAME_LIMIT], "wallets": raw_wallets[:200]})
    device, path = await devices.add_forwarder(session, scope, name=name, now=utcnow(),
                                               wallets=wallets)
    await audit.record(session, viewer.actor, "device.added", merchant_id=scope.merchant_id,
                       mode=scope.mode, object_type="sms_device", object_id=device.id,
                       details={"name": name, "kind": "forwarder"})
    return _page(request, viewer, "sms_forwarder.html", {
        "device": device, "url": f"{_base_url(request)}{path}", "whose": _suffix(scope)},
        owner=scope)


async def _device(request: Request, session: AsyncSession, viewer: Viewer,
                  device_id: str) -> tuple[SmsDevice, devices.Owner]:
    owner = _owner(request, viewer)
    try:
        return await devices.get(session, owner, device_id), owner
    except LookupError:
        raise Gone() from None


@router.get("/admin/sms/devices/{device_id}/revoke")
async def device_revoke_confirm(request: Request, session: Session, viewer: DeviceAdmin,
                                device_id: str) -> Response:
    device, owner = await _device(request, session, viewer, device_id)
    return _page(request, viewer, "sms_revoke.html", {"device": device}, owner=owner)


@router.post("/admin/sms/devices/{device_id}/revoke")
async def device_revoke(request: Request, session: Session, viewer: DeviceConfirmed,
                        device_id: str) -> Response:
    device, owner = await _device(request, session, viewer, device_id)
    revoked = await devices.revoke(session, device, reason=f"revoked by {viewer.user.email}",
                                   now=utcnow())
    if revoked:
        await audit.record(session, viewer.actor, "device.revoked",
                           merchant_id=device.merchant_id, mode=device.mode,
                           object_type="sms_device", object_id=device.id,
                           details={"name": device.name})
    return see_other("/admin/sms/devices?done=" + ("revoked" if revoked else "already")
                     + _suffix(owner, "&"))


@router.post("/admin/sms/alerts/{alert_id}/resolve")
async def alert_resolve(request: Request, session: Session, viewer: Reviewer,
                        alert_id: int) -> Response:
    scope = _owner(request, viewer)
    if not 0 < alert_id < 2**63:  # no such row, and no database error over it
        raise Gone()
    mine = (SmsAlert.id == alert_id, owned_by(SmsAlert.merchant_id, scope.merchant_id),
            SmsAlert.mode == scope.mode)
    if await session.scalar(select(SmsAlert.id).where(*mine)) is None:
        raise Gone()
    done = await session.execute(update(SmsAlert).where(*mine, SmsAlert.resolved_at.is_(None))
                                 .values(resolved_at=utcnow()))
    if done.rowcount:  # type: ignore[attr-defined]
        await audit.record(session, viewer.actor, "sms_alert.resolved",
                           merchant_id=scope.merchant_id, mode=scope.mode,
                           object_type="sms_alert", object_id=alert_id)
    return see_other("/admin/sms/devices?done=resolved" + _suffix(scope, "&"))


# ---- the pattern tester --------------------------------------------------------------------


def _tester(request: Request, viewer: Viewer, *, values: dict[str, str],
            errors: dict[str, list[str]] | None = None,
            result: list[tuple[str, str]] | None = None, status_code: int = 200) -> Response:
    return _page(request, viewer, "sms_tester.html", {
        "values": values, "errors": errors or {}, "result": result, "senders": SENDERS,
        "max_length": MAX_LENGTH, "sender_limit": SENDER_LIMIT}, status_code=status_code)


@router.get("/admin/sms/tester")
async def tester_page(request: Request, viewer: Reader) -> Response:
    scope_of(viewer)
    return _tester(request, viewer, values={"sender": SENDERS[0], "text": ""})


def _shown(name: str, value: Any) -> str:
    if name.endswith("_minor") and isinstance(value, int):
        return f"{value} ({money.format_plain(value, 'BDT')})"
    return str(value)


@router.post("/admin/sms/tester")
async def tester_run(request: Request, viewer: Reader) -> Response:
    """Show what the parsers read from one message; changes nothing."""
    scope_of(viewer)
    sender = viewer.form.get("sender", "").strip()
    text = viewer.form.get("text", "")
    values = {"sender": sender[:SENDER_LIMIT], "text": text}
    errors: dict[str, list[str]] = {}
    if not sender or len(sender) > SENDER_LIMIT or not sender.isprintable():
        errors["sender"] = [f"Give the sender id the phone shows (1 to {SENDER_LIMIT} "
                            "printable characters), e.g. bKash."]
    if not text.strip():
        errors["text"] = ["Paste the message."]
    elif len(text) > MAX_LENGTH:
        errors["text"] = [f"A message is at most {MAX_LENGTH:,} characters (ten SMS "
                          f"segments); this one has {len(text):,}."]
    if errors:
        return _tester(request, viewer, values=values, errors=errors, status_code=400)
    read = parse(sender, text).as_dict()
    result = [(name, _shown(name, value)) for name, value in read.items() if value is not None]
    return _tester(request, viewer, values=values, result=result)
