"""Webhook endpoints: configuration, secrets, rotation, and what the audit log keeps of them
(the delivery log is ``log.py``).

Every function takes the tenant scope (``scope``, a :class:`~ownpay.tenancy.TenantScope`) as a
required keyword argument: another merchant's or mode's endpoint or delivery is a plain 404.
Functions ``flush`` at most; the caller (request or CLI command) owns the transaction.

Secrets are generated here, returned to the caller exactly once (on creation and rotation)
and stored only as AES-256-GCM ciphertext bound to the endpoint's identity.

Size: creating, updating, rotating and removing an endpoint share one validation of its
fields and one scoped lookup; split by action, each part would import them all back.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.config import Settings
from ownpay.db import utcnow
from ownpay.errors import (
    EndpointLimitReached,
    FieldErrors,
    NotFound,
    ValidationFailed,
)
from ownpay.merchants.models import Merchant
from ownpay.security import Keyring
from ownpay.tenancy import TenantScope
from ownpay.timefmt import iso
from ownpay.webhooks import ssrf
from ownpay.webhooks.models import (
    CANCELLED,
    OPEN_STATUSES,
    WebhookDelivery,
    WebhookEndpoint,
)
from ownpay.webhooks.schemas import EventName
from ownpay.webhooks.signing import OWNPAY, SCHEMES, generate_secret

# Event types an endpoint may subscribe to ("*" = all of them, including future ones); the
# API schema's ``EventName`` is the one list.
EVENT_TYPES = tuple(name for name in get_args(EventName) if name != "*")
ALL_EVENTS = "*"
MAX_ENDPOINTS = EndpointLimitReached.limit  # per merchant and mode: bounds every fan-out
ROTATION_OVERLAP = timedelta(hours=24)
MAX_DESCRIPTION = 500
_ENDPOINT_FIELDS = {"url", "events", "description", "enabled", "scheme"}


def audited_settings(serialized: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a serialized endpoint: its settings, no timestamps."""
    return {k: serialized.get(k) for k in sorted(_ENDPOINT_FIELDS)}


async def settings_before(session: AsyncSession, scope: TenantScope,
                          endpoint_id: str) -> dict[str, Any]:
    """An endpoint's settings before an update, for its audit row; empty when there is no
    such endpoint (the update then refuses the request in its own order: 400 before 404)."""
    try:
        found = await get_endpoint(session, scope=scope, endpoint_id=endpoint_id)
    except NotFound:
        return {}
    return audited_settings(serialize_endpoint(found))


def new_endpoint_id() -> str:
    return "we_" + random.token_hex(12)


def new_delivery_id() -> str:
    return "dlv_" + random.token_hex(12)


def subscribed(events: Sequence[str], event_type: str) -> bool:
    return ALL_EVENTS in events or event_type in events


# ---- secrets -------------------------------------------------------------------------------


def _secret_context(endpoint: WebhookEndpoint) -> bytes:
    return f"webhook-endpoint:{endpoint.merchant_id}:{endpoint.mode}:{endpoint.id}".encode()


def _seal(keyring: Keyring, endpoint: WebhookEndpoint, secret: str) -> bytes:
    return keyring.encrypt(secret.encode(), context=_secret_context(endpoint))


def active_secrets(keyring: Keyring, endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, then (during a rotation
    overlap) the one it replaced."""
    context = _secret_context(endpoint)
    found = [keyring.decrypt(endpoint.secret_enc, context=context).decode()]
    until = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_enc and until is not None and until > now:
        found.append(keyring.decrypt(endpoint.previous_secret_enc, context=context).decode())
    return found


# ---- validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointChanges:
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    description_set: bool = False
    enabled: bool | None = None
    scheme: str | None = None


def _validate_events(value: Any, add: Any) -> list[str] | None:
    if not isinstance(value, list) or not value:
        add("events", 'The events field must be a non-empty list of event types, or ["*"].')
        return None
    if any(not isinstance(v, str) for v in value):
        add("events", "Every event type must be a string.")
        return None
    events = list(dict.fromkeys(v.strip() for v in value))
    if ALL_EVENTS in events and len(events) > 1:
        add("events", '"*" subscribes to every event and cannot be combined with others.')
        return None
    unknown = [e for e in events if e != ALL_EVENTS and e not in EVENT_TYPES]
    if unknown:
        add("events", f"Unknown event type(s): {', '.join(unknown)}. "
                      f"Known: {', '.join(EVENT_TYPES)}.")
        return None
    return events


def validate_endpoint_body(
    body: dict[str, Any], *, mode: str, allow_private: bool, partial: bool
) -> EndpointChanges:
    """Check a create (``partial=False``) or update body; every bad field is reported."""
    errors = FieldErrors()
    add = errors.add

    errors.refuse_unknown(body, _ENDPOINT_FIELDS)
    if not partial:
        for name in sorted(set(body) & {"enabled"}):
            add(name, "Set enabled with PATCH after creating the endpoint.")
    url: str | None = None
    if "url" in body or not partial:
        raw = body.get("url")
        if not isinstance(raw, str) or not raw.strip():
            add("url", "The url field is required.")
        else:
            try:
                url = ssrf.validate_url(raw, mode=mode, allow_private=allow_private)
            except ssrf.UnsafeUrl as exc:
                add("url", str(exc))
    events: list[str] | None = None
    if "events" in body:
        events = _validate_events(body["events"], add)
    elif not partial:
        events = [ALL_EVENTS]
    description: str | None = None
    if "description" in body:
        raw_desc = body["description"]
        if raw_desc is not None and (
            not isinstance(raw_desc, str) or len(raw_desc) > MAX_DESCRIPTION
        ):
            add("description",
                f"The description must be a string of at most {MAX_DESCRIPTION} characters.")
        else:
            description = (raw_desc or "").strip() or None
    enabled: bool | None = None
    if partial and "enabled" in body:
        if not isinstance(body["enabled"], bool):
            add("enabled", "The enabled field must be true or false.")
        else:
            enabled = body["enabled"]
    scheme: str | None = None
    if "scheme" in body:
        if body["scheme"] not in SCHEMES:
            add("scheme", f"The scheme must be one of: {', '.join(SCHEMES)}.")
        else:
            scheme = body["scheme"]
    elif not partial:
        scheme = OWNPAY
    if partial and not errors and not body:
        add("request", "Nothing to update: send url, events, description, enabled or scheme.")
    errors.raise_if_any()
    return EndpointChanges(url=url, events=events, description=description,
                           description_set="description" in body, enabled=enabled,
                           scheme=scheme)


async def check_url_addresses(settings: Settings, url: str) -> None:
    """Refuse (400) a URL whose host resolves to an address webhooks may not reach.

    A host that does not resolve at all is accepted: DNS may simply not be set up yet, and
    the same check runs again before every delivery attempt.
    """
    if settings.webhooks_allow_private:
        return
    try:
        await ssrf.resolve(url, allow_private=False)
    except ssrf.UnresolvableHost:
        return
    except ssrf.UnsafeUrl as exc:
        raise ValidationFailed(errors={"url": [str(exc)]}) from None


# ---- endpoints -----------------------------------------------------------------------------


async def create_endpoint(
    session: AsyncSession,
    keyring: Keyring,
    settings: Settings,
    *,
    scope: TenantScope,
    body: dict[str, Any],
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns it with its secret (the only time the secret is shown)."""
    changes = validate_endpoint_body(
        body, mode=scope.mode, allow_private=settings.webhooks_allow_private, partial=False
    )
    assert changes.url is not None and changes.events is not None
    await check_url_addresses(settings, changes.url)  # before any SQL: no lock held over DNS
    # Creations for one merchant take turns (its row locked; SQLite writers are serial
    # anyway), so the limit cannot be overrun by concurrent requests counting at once.
    await session.execute(
        select(Merchant.id).where(Merchant.id == scope.merchant_id).with_for_update())
    count = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(
            WebhookEndpoint.merchant_id == scope.merchant_id,
            WebhookEndpoint.mode == scope.mode,
            WebhookEndpoint.payment_id.is_(None),
            WebhookEndpoint.deleted_at.is_(None),
        )
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise EndpointLimitReached()
    now = utcnow()
    endpoint = WebhookEndpoint(
        id=new_endpoint_id(), merchant_id=scope.merchant_id, mode=scope.mode, url=changes.url,
        events=changes.events, description=changes.description, enabled=True,
        scheme=changes.scheme or OWNPAY, secret_enc=b"", created_at=now, updated_at=now,
    )
    secret = generate_secret()
    endpoint.secret_enc = _seal(keyring, endpoint, secret)
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def list_endpoints(
    session: AsyncSession, *, scope: TenantScope
) -> list[WebhookEndpoint]:
    stmt = (
        select(WebhookEndpoint)
        .where(
            WebhookEndpoint.merchant_id == scope.merchant_id,
            WebhookEndpoint.mode == scope.mode,
            WebhookEndpoint.payment_id.is_(None),
            WebhookEndpoint.deleted_at.is_(None),
        )
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(await session.scalars(stmt))


async def get_endpoint(
    session: AsyncSession,
    *,
    scope: TenantScope,
    endpoint_id: str,
    for_update: bool = False,
) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id,
        WebhookEndpoint.merchant_id == scope.merchant_id,
        WebhookEndpoint.mode == scope.mode,
        WebhookEndpoint.payment_id.is_(None),
        WebhookEndpoint.deleted_at.is_(None),
    )
    if for_update:
        stmt = stmt.with_for_update()
    endpoint = await session.scalar(stmt)
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    settings: Settings,
    *,
    scope: TenantScope,
    endpoint_id: str,
    body: dict[str, Any],
) -> WebhookEndpoint:
    changes = validate_endpoint_body(
        body, mode=scope.mode, allow_private=settings.webhooks_allow_private, partial=True
    )
    if changes.url is not None:
        await check_url_addresses(settings, changes.url)
    endpoint = await get_endpoint(
        session, scope=scope, endpoint_id=endpoint_id, for_update=True
    )
    if changes.url is not None:
        endpoint.url = changes.url
    if changes.events is not None:
        endpoint.events = changes.events
    if changes.description_set:
        endpoint.description = changes.description
    if changes.enabled is not None:
        endpoint.enabled = changes.enabled
    if changes.scheme is not None:
        endpoint.scheme = changes.scheme
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


async def delete_endpoint(
    session: AsyncSession, *, scope: TenantScope, endpoint_id: str
) -> WebhookEndpoint:
    """Soft delete: its deliveries stay in the log; the ones not yet delivered are cancelled."""
    endpoint = await get_endpoint(
        session, scope=scope, endpoint_id=endpoint_id, for_update=True
    )
    now = utcnow()
    endpoint.deleted_at = now
    endpoint.enabled = False
    endpoint.updated_at = now
    endpoint.secret_enc = b""  # nothing left to sign with, nothing left to leak
    endpoint.previous_secret_enc = None
    endpoint.previous_secret_expires_at = None
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.merchant_id == scope.merchant_id,
            WebhookDelivery.status.in_(OPEN_STATUSES),
        )
        .values(status=CANCELLED, last_error="endpoint deleted", locked_until=None,
                lease_token=None, updated_at=now)
    )
    await session.flush()
    return endpoint


async def rotate_secret(
    session: AsyncSession, keyring: Keyring, *, scope: TenantScope, endpoint_id: str
) -> tuple[WebhookEndpoint, str]:
    """New secret now; the replaced one keeps signing (second signature) for 24 hours.

    Rotating again within the overlap retires the oldest secret at once: at most two
    secrets sign any delivery.
    """
    endpoint = await get_endpoint(
        session, scope=scope, endpoint_id=endpoint_id, for_update=True
    )
    now = utcnow()
    secret = generate_secret()
    endpoint.previous_secret_enc = endpoint.secret_enc
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret_enc = _seal(keyring, endpoint, secret)
    endpoint.updated_at = now
    await session.flush()
    return endpoint, secret


async def operator_endpoint_scope(session: AsyncSession, endpoint_id: str) -> TenantScope:
    """Operator (CLI) use only: the merchant and mode an endpoint belongs to."""
    row = (
        await session.execute(
            select(WebhookEndpoint.merchant_id, WebhookEndpoint.mode).where(
                WebhookEndpoint.id == endpoint_id, WebhookEndpoint.deleted_at.is_(None)
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"Webhook endpoint '{endpoint_id}' does not exist.")
    return TenantScope(int(row[0]), str(row[1]))


def serialize_endpoint(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    now = utcnow()
    overlap = endpoint.previous_secret_expires_at
    if overlap is not None and overlap <= now:
        overlap = None
    out: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "scheme": endpoint.scheme,
        "mode": endpoint.mode,
        "created_at": iso(endpoint.created_at),
        "updated_at": iso(endpoint.updated_at),
        # While set, deliveries carry a second signature made with the replaced secret.
        "previous_secret_expires_at": iso(overlap),
    }
    if secret is not None:
        out["secret"] = secret
    return out
