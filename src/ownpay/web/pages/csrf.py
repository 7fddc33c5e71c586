"""CSRF tokens for every form OwnPay serves.

* **Session-bound** (the dashboard): the token is an HMAC of the server-side session's id,
  so it is valid exactly as long as the session and only for it.
* **Transaction-bound** (the hosted checkout, where customers have no session): a random
  cookie (``op_csrf``, ``HttpOnly``, ``SameSite=Lax``) plus a token that is an HMAC of the
  payment's id and that cookie -- a double-submit token that cannot be replayed on another
  payment or from another browser.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from ownpay.security import Keyring

CHECKOUT_COOKIE = "op_csrf"


def session_token(keyring: Keyring, session_id: str) -> str:
    return keyring.sign(f"csrf:session:{session_id}".encode())


def session_token_ok(keyring: Keyring, session_id: str, token: str | None) -> bool:
    return bool(token) and keyring.verify(f"csrf:session:{session_id}".encode(), token or "")


class TransactionCsrf:
    """The checkout's token for one payment in one browser."""

    def __init__(self, keyring: Keyring, request: Request, transaction_id: str, *,
                 https: bool) -> None:
        self.keyring = keyring
        self.transaction_id = transaction_id
        value = request.cookies.get(CHECKOUT_COOKIE, "")
        self.new_cookie = not (len(value) == 32 and value.isalnum())
        self.cookie = secrets.token_hex(16) if self.new_cookie else value
        self.secure = https  # Secure whenever the customer is on HTTPS, proxy or not

    @property
    def token(self) -> str:
        return self.keyring.sign(f"csrf:{self.transaction_id}:{self.cookie}".encode())

    def set_cookie(self, response: Response) -> None:
        if self.new_cookie:
            response.set_cookie(CHECKOUT_COOKIE, self.cookie, httponly=True, samesite="lax",
                                path="/", secure=self.secure)


def transaction_token_ok(keyring: Keyring, request: Request, transaction_id: str,
                         token: str | None) -> bool:
    cookie = request.cookies.get(CHECKOUT_COOKIE, "")
    if not token or len(cookie) != 32:
        return False
    return keyring.verify(f"csrf:{transaction_id}:{cookie}".encode(), token)
