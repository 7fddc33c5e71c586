"""Paired phones: one-time pairing codes, the tokens a phone holds, the per-device AES key,
heartbeats, revocation and the offline check (issue 13; docs/sms-verification.md).

* A pairing code is 6 random digits, valid ``PAIRING_LIFETIME``, used once; making one
  invalidates the brand's earlier unused codes.  Only its digest is stored.
* Exchanging it gives the device an id, an access token (``ACCESS_LIFETIME``), a refresh
  token and a 256-bit AES key (encrypted at rest with the installation key).  A refresh
  rotates both tokens; presenting a refresh token that was already used means someone
  copied it, and the device is revoked.
* An SMS-forwarder app cannot pair or refresh: an operator adds it and it posts to a URL
  holding a long secret (``forwarder_path``).

A device belongs to one brand (a :class:`~ownpay.tenancy.TenantScope`) or, when the
operator opts in explicitly, to the whole installation (:class:`Installation`: a phone
holding wallets several brands show; only installation operators manage it, through the
CLI and the dashboard, never a brand's API key).

Every function takes the caller's session and only flushes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import metrics
from ownpay.outbox.writer import record_event
from ownpay.security import Keyring
from ownpay.sms.matching import gateways_reading, serving
from ownpay.sms.models import PairingCode, SmsAlert, SmsDevice, owned_by
from ownpay.tenancy import MODES, TenantScope
from ownpay.timefmt import iso

PAIRING_LIFETIME = timedelta(minutes=5)
ACCESS_LIFETIME = timedelta(hours=1)
SPENT_KEPT = 20  # used refresh tokens remembered per device (reuse -> revoke)
KINDS = ("app", "forwarder")
FORWARD_PREFIX = "/api/mobile/v1/forward/"


MAX_WALLETS = 4  # dual-SIM phones, with room


@dataclass(frozen=True, slots=True)
class Installation:
    """The owner of the installation's own phones, in one mode (``merchant_id`` None)."""

    mode: str
    merchant_id: None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be test or live, got {self.mode!r}")


Owner = TenantScope | Installation


def owner_named(merchant_id: int | None, mode: str) -> Owner:
    return Installation(mode) if merchant_id is None else TenantScope(merchant_id, mode)


def wallet_list(raw: object) -> list[str] | None:
    """``wallet_numbers`` as a device sends it (a list, or comma-separated): each an
    11-digit Bangladeshi mobile number (or Rocket's 12); None when unreadable."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or len(items) > MAX_WALLETS:
        return None
    numbers = []
    for item in items:
        if not isinstance(item, str):
            return None
        number = item.strip().replace("-", "").replace(" ", "")
        if not (number.isascii() and number.isdigit() and len(number) in (11, 12)
                and number.startswith("01")):
            return None
        numbers.append(number)
    return sorted(set(numbers))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_digest(code: str) -> str:
    return digest(f"pairing:{code}")


def _context(device_id: str) -> bytes:
    return f"sms-device:{device_id}".encode()


def new_device_id() -> str:
    return "dev_" + secrets.token_hex(8)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Paired:
    device: SmsDevice
    tokens: Tokens
    aes_key: str  # base64, shown once


async def create_pairing_code(session: AsyncSession, scope: Owner, *,
                              now: datetime) -> tuple[str, datetime]:
    """A fresh code for the brand (or the installation) and mode; the earlier unused ones
    stop working."""
    await session.execute(
        update(PairingCode)
        .where(owned_by(PairingCode.merchant_id, scope.merchant_id), PairingCode.mode == scope.mode,
               PairingCode.used_at.is_(None), PairingCode.expires_at > now)
        .values(expires_at=now))
    while True:  # a code live for another brand at this moment is drawn again
        code = f"{secrets.randbelow(1_000_000):06d}"
        taken = await session.scalar(select(PairingCode.id).where(
            PairingCode.code_digest == _code_digest(code), PairingCode.used_at.is_(None),
            PairingCode.expires_at > now))
        if taken is None:
            break
    expires = now + PAIRING_LIFETIME
    session.add(PairingCode(merchant_id=scope.merchant_id, mode=scope.mode,
                            code_digest=_code_digest(code), created_at=now, expires_at=expires))
    await session.flush()
    return code, expires


def _tokens(now: datetime) -> tuple[Tokens, dict[str, object]]:
    tokens = Tokens(access_token="opd_" + secrets.token_urlsafe(32),
                    refresh_token="opr_" + secrets.token_urlsafe(32),
                    expires_at=now + ACCESS_LIFETIME)
    return tokens, {"access_digest": digest(tokens.access_token),
                    "access_expires_at": tokens.expires_at,
                    "refresh_digest": digest(tokens.refresh_token)}


async def pair(session: AsyncSession, keyring: Keyring, code: str, *, name: str,
               client_device_id: str | None, platform: str | None, app_version: str | None,
               now: datetime, wallets: list[str] | None = None) -> Paired | None:
    """Spend a pairing code (compare-and-set: of two phones racing, one wins); None when
    the code is unknown, used or expired -- the caller cannot tell which, nor can a guesser."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    device_id = new_device_id()
    claimed = (await session.execute(
        update(PairingCode)
        .where(PairingCode.code_digest == _code_digest(code), PairingCode.used_at.is_(None),
               PairingCode.expires_at > now)
        .values(used_at=now, device_id=device_id)
        .returning(PairingCode.merchant_id, PairingCode.mode))).first()
    if claimed is None:
        return None
    key = secrets.token_bytes(32)
    tokens, columns = _tokens(now)
    device = SmsDevice(
        id=device_id, merchant_id=claimed.merchant_id, mode=claimed.mode, kind="app",
        name=name, client_device_id=client_device_id, platform=platform,
        app_version=app_version, spent_refresh=[], wallets=list(wallets or []),
        aes_key_enc=keyring.encrypt(key, context=_context(device_id)), last_seen_at=now,
        created_at=now, **columns)
    session.add(device)
    await session.flush()
    return Paired(device=device, tokens=tokens, aes_key=base64.b64encode(key).decode())


async def add_forwarder(session: AsyncSession, scope: Owner, *, name: str,
                        now: datetime, wallets: list[str] | None = None
                        ) -> tuple[SmsDevice, str]:
    """A forwarder app's device and the secret path it posts to (shown once)."""
    secret = secrets.token_urlsafe(32)
    device = SmsDevice(id=new_device_id(), merchant_id=scope.merchant_id, mode=scope.mode,
                       kind="forwarder", name=name, spent_refresh=[],
                       wallets=list(wallets or []), forward_digest=digest(secret), created_at=now)
    session.add(device)
    await session.flush()
    return device, FORWARD_PREFIX + secret


async def refresh(session: AsyncSession, refresh_token: str, *,
                  now: datetime) -> Tokens | None:
    """New tokens for a live device's current refresh token.  A refresh token used before
    revokes its device (the copy and the original cannot both be the phone)."""
    token_digest = digest(refresh_token)
    device = await session.scalar(select(SmsDevice).where(
        SmsDevice.refresh_digest == token_digest, SmsDevice.revoked_at.is_(None))
        .with_for_update())
    if device is None:
        reused = await session.scalar(select(SmsDevice).where(
            cast(SmsDevice.spent_refresh, String).contains(token_digest),
            SmsDevice.revoked_at.is_(None)))
        if reused is not None:
            await revoke(session, reused, reason="a used refresh token was presented again",
                         now=now)
        return None
    tokens, columns = _tokens(now)
    spent = [*device.spent_refresh, token_digest][-SPENT_KEPT:]
    moved = await session.execute(
        update(SmsDevice)
        .where(SmsDevice.id == device.id, SmsDevice.refresh_digest == token_digest)
        .values(spent_refresh=spent, last_seen_at=now, **columns))
    return tokens if moved.rowcount == 1 else None  # type: ignore[attr-defined]


async def by_access_token(session: AsyncSession, token: str, *,
                          now: datetime) -> SmsDevice | None:
    device = await session.scalar(select(SmsDevice).where(
        SmsDevice.access_digest == digest(token)))
    if device is None or device.revoked_at is not None:
        return None
    if device.access_expires_at is None or device.access_expires_at <= now:
        return None
    return device


async def by_forward_secret(session: AsyncSession, secret: str) -> SmsDevice | None:
    device = await session.scalar(select(SmsDevice).where(
        SmsDevice.forward_digest == digest(secret), SmsDevice.kind == "forwarder"))
    return device if device is not None and device.revoked_at is None else None


def aes_key(keyring: Keyring, device: SmsDevice) -> bytes:
    assert device.aes_key_enc is not None  # noqa: S101 - only app devices decrypt
    return keyring.decrypt(device.aes_key_enc, context=_context(device.id))


async def heartbeat(session: AsyncSession, device: SmsDevice, *, battery: int | None,
                    app_version: str | None, now: datetime,
                    wallets: list[str] | None = None) -> None:
    values: dict[str, object] = {"last_seen_at": now, "offline_since": None}
    if wallets is not None:
        values["wallets"] = wallets
    if battery is not None:
        values["battery"] = battery
    if app_version:
        values["app_version"] = app_version
    await session.execute(update(SmsDevice).where(SmsDevice.id == device.id).values(**values))


async def set_wallets(session: AsyncSession, device: SmsDevice, wallets: list[str]) -> None:
    """The operator says which wallet numbers the device receives SMS for."""
    await session.execute(update(SmsDevice).where(SmsDevice.id == device.id)
                          .values(wallets=wallets))


async def revoke(session: AsyncSession, device: SmsDevice, *, reason: str,
                 now: datetime) -> bool:
    """Its tokens and secret URL stop working at once; its messages stay."""
    done = await session.execute(
        update(SmsDevice).where(SmsDevice.id == device.id, SmsDevice.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:200], access_digest=None,
                refresh_digest=None, forward_digest=None))
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def _told(session: AsyncSession, device: SmsDevice) -> list[int]:
    """The brands a ``device.offline`` event goes to: the device's own, or -- for one of the
    installation's phones -- every brand whose wallet gateway shows one of its wallets."""
    if device.merchant_id is not None:
        return [device.merchant_id]
    served = await serving(session, device.mode, gateways_reading(), tuple(device.wallets or ()))
    return sorted({merchant_id for merchant_id, _ in served})


async def mark_offline(session: AsyncSession, *, now: datetime,
                       after: timedelta) -> list[SmsDevice]:
    """Paired phones silent for longer than ``after`` (no heartbeat, no upload), each
    reported once until it is heard from again: an alert, ``ownpay_sms_alerts_total
    {kind="offline"}`` and a ``device.offline`` event.  Forwarder apps send no heartbeats
    and are not watched.  An installation phone's alert has no brand (installation operators
    see it); its event goes to each brand it serves."""
    quiet = list(await session.scalars(
        update(SmsDevice)
        .where(SmsDevice.kind == "app", SmsDevice.revoked_at.is_(None),
               SmsDevice.offline_since.is_(None), SmsDevice.last_seen_at < now - after)
        .values(offline_since=now)
        .returning(SmsDevice)))
    for device in quiet:
        seen = iso(device.last_seen_at)
        session.add(SmsAlert(
            merchant_id=device.merchant_id, mode=device.mode, device_id=device.id,
            kind="offline", created_at=now, details={"last_seen_at": seen},
            message=f"device {device.name} ({device.id}) has not been heard from since "
                    f"{seen}: wallet SMS are not being forwarded"))
        for merchant_id in await _told(session, device):
            await record_event(session, merchant_id=merchant_id, mode=device.mode,
                               event_type="device.offline", payment_id=None, now=now,
                               payload={"device_id": device.id, "name": device.name,
                                        "last_seen_at": seen, "battery": device.battery,
                                        "mode": device.mode,
                                        "installation": device.merchant_id is None})
        metrics.count_sms(session, metrics.SMS_ALERTS, kind="offline")
    return quiet


async def get(session: AsyncSession, scope: Owner, device_id: str) -> SmsDevice:
    device = await session.scalar(select(SmsDevice).where(
        SmsDevice.id == device_id, owned_by(SmsDevice.merchant_id, scope.merchant_id),
        SmsDevice.mode == scope.mode))
    if device is None:
        whose = "the installation" if scope.merchant_id is None else "this brand"
        raise LookupError(f"no device {device_id!r} for {whose} and mode")
    return device


async def listing(session: AsyncSession, scope: Owner) -> list[SmsDevice]:
    return list(await session.scalars(select(SmsDevice).where(
        owned_by(SmsDevice.merchant_id, scope.merchant_id), SmsDevice.mode == scope.mode)
        .order_by(SmsDevice.created_at, SmsDevice.id)))


def presented(device: SmsDevice) -> dict[str, object]:
    return {
        "id": device.id, "kind": device.kind, "name": device.name,
        "platform": device.platform, "app_version": device.app_version,
        "battery": device.battery, "last_sequence": device.last_sequence,
        "wallets": list(device.wallets or []),
        "last_seen_at": iso(device.last_seen_at), "created_at": iso(device.created_at),
        "offline_since": iso(device.offline_since),
        "revoked_at": iso(device.revoked_at), "revoked_reason": device.revoked_reason,
    }
