"""Signatures for outbound webhooks: pure functions, no database, no clock unless asked.

Every delivery carries two independent signatures over the same bytes:

* ``X-OwnPay-Signature: sha256=<hex>`` — the scheme the product publishes (and the one the
  spec's PHP receiver checks): ``HMAC-SHA256(key = the secret string as typed, including its
  ``whsec_`` prefix, message = "<timestamp>." + raw body)``. Receivers can check it with one
  line of ``hash_hmac`` and no base64 handling.
* ``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature: v1,<base64>`` — the
  Standard Webhooks scheme (https://www.standardwebhooks.com), so receivers can use the
  official libraries unchanged. Its key is the base64-decoded part after ``whsec_`` and its
  message also covers the delivery id.

An endpoint with the ``ownpay-legacy`` scheme (the clients of OwnPay's merchant API: its Node
and Laravel SDKs, WHMCS module and WooCommerce plugin) gets ``X-OwnPay-Signature: <hex>`` =
``HMAC-SHA256(secret, raw body)`` instead -- no prefix, no timestamp in the MAC, one signature
(the newest secret) -- and the same ``X-OwnPay-Timestamp`` and Standard Webhooks headers.

A payment created through the UddoktaPay or PipraPay facade (``compat/``) has its own
``webhook_url`` endpoint in the ``uddoktapay`` / ``piprapay`` scheme: their clients check
no signature at all, only that one header (``RT-UDDOKTAPAY-API-KEY`` /
``mh-piprapay-api-key``) equals the merchant's API key, so that header, with the key that
created the payment, is what such a delivery carries -- and no MAC (the key is no
``whsec_`` secret).  It proves little (anyone who learns the key can forge it); their
receivers should, and the documented ones do, call verify-payment(s) before trusting it.

Both signatures bind the timestamp, so a receiver that rejects old timestamps also rejects
replays of an old capture. During a secret rotation a delivery is signed with every active
secret (newest first) and the signatures are space-separated; a receiver holding any one of
the secrets accepts it.

The sender must call :func:`sign_headers` at the moment of each attempt (never reuse the
headers of an earlier attempt): retries happen hours later and would otherwise fall outside
every receiver's timestamp tolerance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from secrets import token_bytes

__all__ = [
    "DEFAULT_TOLERANCE",
    "LEGACY",
    "OWNPAY",
    "KEY_HEADERS",
    "SCHEMES",
    "SECRET_PREFIX",
    "USER_AGENT",
    "WebhookVerificationError",
    "generate_secret",
    "sign_headers",
    "verify_signature",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 -- a format prefix, not a credential
SECRET_BYTES = 32  # 256 bits = the HMAC-SHA256 output size; Standard Webhooks wants 24..64
DEFAULT_TOLERANCE = 300  # seconds either side of "now", the common 5-minute default
USER_AGENT = "OwnPay-Webhooks/1.0"

OWNPAY_PREFIX = "sha256="
# Signature schemes of an endpoint (``webhook_endpoints.scheme``).
OWNPAY = "ownpay"
LEGACY = "ownpay-legacy"
SCHEMES = (OWNPAY, LEGACY)  # what a merchant may choose for an endpoint it adds
# Schemes of a facade payment's own endpoint: the API key itself in this header (never a
# merchant's choice: the "secret" of such an endpoint is the key, sealed).
UDDOKTAPAY = "uddoktapay"
PIPRAPAY = "piprapay"
KEY_HEADERS = {UDDOKTAPAY: "RT-UDDOKTAPAY-API-KEY", PIPRAPAY: "mh-piprapay-api-key"}
STANDARD_PREFIX = "v1,"

# Unix seconds as ASCII digits only: int() alone would also accept " 1", "+1", "1_0" and
# non-ASCII digits, none of which a PHP or Node receiver would sign the same way.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
# Values we put in headers ourselves: printable ASCII, no spaces, so they can never split a
# header line or the space-separated signature list.
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")


class WebhookVerificationError(Exception):
    """The request is not a genuine, fresh OwnPay delivery; answer it with 400/401.

    The message says which check failed (missing header, bad or stale timestamp, signature
    mismatch) but never contains the expected signature.
    """


def generate_secret() -> str:
    """A new endpoint secret, ``whsec_<base64 of 32 random bytes>``.

    The Standard Webhooks format, so the same string works with their libraries (which strip
    the prefix and decode) and with the X-OwnPay scheme (which uses the string as typed).
    """
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def sign_headers(
    secrets: Sequence[str],
    *,
    event_type: str,
    delivery_id: str,
    body: bytes,
    timestamp: int,
    scheme: str = OWNPAY,
) -> dict[str, str]:
    """Every header of one delivery attempt of ``body`` (the exact bytes that will be POSTed).

    ``secrets`` are the endpoint's active secrets, newest first: one normally, two during a
    rotation overlap, and each gets its own signature in both signature headers so receivers
    can switch to the new secret whenever they like within the overlap. ``timestamp`` is the
    attempt's Unix time in seconds. Raises ``ValueError`` on an empty secret list, a secret
    that is not ``whsec_<base64>``, or values that cannot be sent as a header token.
    """
    if isinstance(secrets, str):
        raise TypeError("secrets must be a list of secrets, not a single string")
    if not secrets:
        raise ValueError("at least one secret is needed to sign a webhook")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("timestamp must be a non-negative int (Unix seconds)")
    for name, value in (("event_type", event_type), ("delivery_id", delivery_id)):
        if not _HEADER_TOKEN.fullmatch(value):
            raise ValueError(f"{name} must be non-empty printable ASCII without spaces")
    body = _as_bytes(body)
    ts = str(timestamp)
    if scheme in KEY_HEADERS:
        key = secrets[0]
        if not _HEADER_TOKEN.fullmatch(key):
            raise ValueError("the API key cannot be sent as a header token")
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-OwnPay-Event": event_type,
            "X-OwnPay-Delivery": delivery_id,
            "X-OwnPay-Timestamp": ts,
            KEY_HEADERS[scheme]: key,
        }
    if scheme == LEGACY:
        ownpay = [legacy_signature(secrets[0], body)]
    elif scheme == OWNPAY:
        ownpay = [_ownpay_signature(secret, ts, body) for secret in secrets]
    else:
        raise ValueError(f"unknown signature scheme {scheme!r}")
    standard = [_standard_signature(secret, delivery_id, ts, body) for secret in secrets]
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-OwnPay-Event": event_type,
        "X-OwnPay-Delivery": delivery_id,
        "X-OwnPay-Timestamp": ts,
        "X-OwnPay-Signature": " ".join(ownpay),
        "webhook-id": delivery_id,
        "webhook-timestamp": ts,
        "webhook-signature": " ".join(standard),
    }


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: int | None = None,
) -> None:
    """Check that a received request is a genuine OwnPay delivery; return None if it is.

    For Python receivers. ``raw_body`` must be the request bytes exactly as received (parse
    the JSON only after this returns: re-serialising changes the bytes and the signature).
    Header names are matched case-insensitively. The X-OwnPay scheme is checked when either
    of its headers is present; only when both are absent are the Standard Webhooks
    ``webhook-*`` headers checked instead, so a broken X-OwnPay signature is never rescued by
    the other scheme. The timestamp must be within ``tolerance`` seconds of ``now`` (default:
    the current time) in either direction, to stop replays while allowing some clock skew.

    Raises :class:`WebhookVerificationError` when the request fails a check, and
    ``ValueError``/``TypeError`` for a misconfigured receiver (empty secret, a secret that is
    not ``whsec_<base64>`` when the Standard Webhooks headers are used, a body that is not
    bytes) so that a configuration mistake is not mistaken for a forged request.
    """
    if not secret:
        raise ValueError("the webhook secret is empty")
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0 seconds")
    raw_body = _as_bytes(raw_body)
    found = {name.lower(): value for name, value in headers.items()}

    if "x-ownpay-signature" in found or "x-ownpay-timestamp" in found:
        signatures = _required(found, "X-OwnPay-Signature")
        timestamp = _required(found, "X-OwnPay-Timestamp")
        _check_timestamp(timestamp, tolerance, now)
        expected = _ownpay_signature(secret, timestamp, raw_body)
    elif any(name.startswith("webhook-") for name in found):
        delivery_id = _required(found, "webhook-id")
        timestamp = _required(found, "webhook-timestamp")
        signatures = _required(found, "webhook-signature")
        _check_timestamp(timestamp, tolerance, now)
        expected = _standard_signature(secret, delivery_id, timestamp, raw_body)
    else:
        raise WebhookVerificationError(
            "missing signature headers: expected X-OwnPay-Signature and X-OwnPay-Timestamp "
            "(or webhook-id, webhook-timestamp and webhook-signature)"
        )

    if not _any_matches(expected, signatures):
        raise WebhookVerificationError("signature mismatch")


def _ownpay_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``; the key is the whole secret string, as PHP's ``hash_hmac`` uses it."""
    if not secret:
        raise ValueError("the webhook secret is empty")
    message = timestamp.encode("ascii") + b"." + body
    return OWNPAY_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def legacy_signature(secret: str, body: bytes) -> str:
    """The ``ownpay-legacy`` ``X-OwnPay-Signature``: lower-case hex HMAC-SHA256 of the raw
    body, keyed with the secret string as typed (what ``hash_hmac('sha256', $body, $secret)``
    gives those clients)."""
    if not secret:
        raise ValueError("the webhook secret is empty")
    return hmac.new(secret.encode("utf-8"), _as_bytes(body), hashlib.sha256).hexdigest()


def _standard_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """``v1,<base64>`` as the Standard Webhooks spec defines it."""
    message = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(_standard_key(secret), message, hashlib.sha256).digest()
    return STANDARD_PREFIX + base64.b64encode(digest).decode("ascii")


def _standard_key(secret: str) -> bytes:
    """The raw key bytes of a ``whsec_<base64>`` secret (missing ``=`` padding tolerated)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"webhook secrets must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the part after 'whsec_' is not valid base64") from exc
    if not key:
        raise ValueError("the webhook secret has an empty key")
    return key


def _as_bytes(body: bytes) -> bytes:
    """Refuse text and parsed JSON early: signatures are over the exact bytes on the wire."""
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if not isinstance(body, bytes):
        raise TypeError(f"the body must be the raw request bytes, not {type(body).__name__}")
    return body


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower(), "")
    if not value:
        raise WebhookVerificationError(f"missing {name} header")
    return value


def _check_timestamp(value: str, tolerance: int, now: int | None) -> None:
    if not _TIMESTAMP.fullmatch(value):
        raise WebhookVerificationError("timestamp header is not an integer number of seconds")
    current = int(time.time()) if now is None else now
    age = current - int(value)
    if age > tolerance:
        raise WebhookVerificationError(f"timestamp is {age} s old (tolerance {tolerance} s)")
    if -age > tolerance:
        raise WebhookVerificationError(
            f"timestamp is {-age} s in the future (tolerance {tolerance} s); check the clock"
        )


def _any_matches(expected: str, header: str) -> bool:
    """Constant-time comparison of ``expected`` with each space-separated signature.

    Bytes, not str, are compared: ``hmac.compare_digest`` raises TypeError on non-ASCII str,
    and a header is attacker-controlled. Every candidate is compared (no early exit).
    """
    want = expected.encode("ascii")
    matched = False
    for candidate in header.split():
        if hmac.compare_digest(want, candidate.encode("utf-8", "replace")):
            matched = True
    return matched
