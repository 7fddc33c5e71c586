"""TOTP two-factor authentication (RFC 6238 through ``pyotp``) and recovery codes.

The secret is stored encrypted (AES-256-GCM, bound to the user's id).  A code is accepted
for the current 30-second step or one step either side (clock drift), and never twice:
the step of the last accepted code is kept, and only a later step is accepted.  Recovery
codes are ten single-use codes, stored as keyed digests (HMAC with the installation key),
removed when used."""

from __future__ import annotations

import hmac
import io
import secrets
import time

import pyotp
import segno

from ownpay.dashboard.models import User
from ownpay.db import utcnow
from ownpay.security import Keyring

ISSUER = "OwnPay"
RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def _context(user_id: int) -> bytes:
    return f"ownpay/users/{user_id}/totp".encode()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as an inline SVG (generated here; no third-party service)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False,
                                    svgns=True, title="Scan with your authenticator app")
    return out.getvalue().decode()


def matching_step(secret: str, code: str, *, after: int | None,
                  now: float | None = None) -> int | None:
    """The time step ``code`` is valid for (±1 step), if later than ``after``."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // totp.interval)
    for step in (current - 1, current, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def enable(user: User, keyring: Keyring, secret: str) -> list[str]:
    """Store the confirmed secret and return fresh recovery codes (shown once)."""
    user.totp_secret_enc = keyring.encrypt(secret.encode(), context=_context(user.id))
    user.totp_enabled_at = utcnow()
    user.totp_last_step = None
    return new_recovery_codes(user, keyring)


def secret_of(user: User, keyring: Keyring) -> str | None:
    if user.totp_secret_enc is None:
        return None
    return keyring.decrypt(user.totp_secret_enc, context=_context(user.id)).decode()


def check(user: User, keyring: Keyring, code: str) -> bool:
    """A TOTP code or an unused recovery code; consumes it."""
    secret = secret_of(user, keyring)
    if secret is None:
        return False
    step = matching_step(secret, code, after=user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return True
    return use_recovery_code(user, keyring, code)


def _recovery_digest(keyring: Keyring, user_id: int, code: str) -> str:
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    return keyring.sign(f"recovery:{user_id}:{normalised}".encode())


def new_recovery_codes(user: User, keyring: Keyring) -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    user.recovery_codes = [_recovery_digest(keyring, user.id, c) for c in codes]
    return codes


def use_recovery_code(user: User, keyring: Keyring, code: str) -> bool:
    if not 8 <= len(code.strip()) <= 16:
        return False
    wanted = _recovery_digest(keyring, user.id, code)
    remaining = list(user.recovery_codes or [])
    for stored in remaining:
        if hmac.compare_digest(stored, wanted):
            remaining.remove(stored)
            user.recovery_codes = remaining
            return True
    return False
