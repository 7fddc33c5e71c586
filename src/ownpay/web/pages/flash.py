"""Flash messages for redirect-after-POST: what a refused form said (its errors and the
values to fill back in) carried to the GET page it redirects to, so that a refresh there
shows the page again instead of re-posting the form.

The message is a cookie (``op_flash``): compact JSON, base64url, and an HMAC under the
keyring's CSRF key that binds it to a ``scope`` (e.g. one payment in one browser) and to
its expiry.  It is ``HttpOnly``, ``SameSite=Lax``, limited to ``path``, lives
:data:`MAX_AGE` seconds and is read once: the page that shows it deletes it.  A cookie that
is too old, for another scope, altered or unreadable is ignored.  No server-side state.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from ownpay.security import Keyring

COOKIE = "op_flash"
MAX_AGE = 300
MAX_BYTES = 3500  # browsers keep at least 4096 bytes per cookie, name and attributes included
MAX_VALUE = 200
MAX_FIELDS = 20


@dataclass(frozen=True)
class Flash:
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def _mac(keyring: Keyring, scope: str, body: str) -> str:
    return keyring.sign(f"flash:{scope}:{body}".encode())


def _encode(keyring: Keyring, scope: str, data: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(
        json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode()).decode()
    return f"{body}.{_mac(keyring, scope, body)}"


def put(response: Response, keyring: Keyring, flash: Flash, *, scope: str, path: str,
        https: bool, now: float | None = None) -> None:
    """Attach ``flash`` to ``response`` (a redirect).  Values longer than
    :data:`MAX_VALUE` are not kept, and when everything would not fit in one cookie the
    values are dropped first: the errors are what the customer must see."""
    values = {k: v for k, v in list(flash.values.items())[:MAX_FIELDS] if len(v) <= MAX_VALUE}
    data: dict[str, object] = {"exp": int((now or time.time()) + MAX_AGE),
                               "errors": flash.errors, "values": values}
    cookie = _encode(keyring, scope, data)
    if len(cookie) > MAX_BYTES:
        data["values"] = {}
        cookie = _encode(keyring, scope, data)
    if len(cookie) > MAX_BYTES:
        data["errors"] = {"form": ["Please check the details and try again."]}
        cookie = _encode(keyring, scope, data)
    response.set_cookie(COOKIE, cookie, max_age=MAX_AGE, path=path, httponly=True,
                        samesite="lax", secure=https)


def take(request: Request, keyring: Keyring, *, scope: str,
         now: float | None = None) -> Flash | None:
    """The flash this request carries for ``scope``, if it is genuine and fresh."""
    raw = request.cookies.get(COOKIE, "")
    body, _, mac = raw.partition(".")
    if not body or not mac or not keyring.verify(f"flash:{scope}:{body}".encode(), mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
        return None
    if data["exp"] < (now or time.time()):
        return None
    return Flash(errors=_errors(data.get("errors")), values=_values(data.get("values")))


def clear(request: Request, response: Response, *, path: str) -> None:
    """Delete the flash cookie (once shown, or when it no longer applies)."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path=path, httponly=True, samesite="lax")


def _errors(raw: object) -> dict[str, list[str]]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): [str(m) for m in v] for k, v in raw.items() if isinstance(v, list)}


def _values(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str)}
