"""The provider executor: the one place where adapters' HTTP calls to providers happen.

Every adapter sends through :class:`ProviderExecutor` (bKash directly, Stripe's SDK through
its HTTP-client hook), on the process's shared ``httpx.AsyncClient`` (``GatewayContext.http``:
bounded timeouts, no redirects).  For every call it

* classifies a failure by what it means for money: :class:`ProviderDidNotAct` when the
  request cannot have reached the provider (connection refused, DNS failure, TLS or connect
  error, connect or pool timeout), :class:`ProviderMayHaveActed` when it may have been
  carried out (a read or write timeout once sending began, the connection dropped mid-way,
  an undecodable answer, a 5xx).  Adapters decide with ``exc.may_have_acted`` whether
  something can be sent again, must be asked about, or certainly did not happen;
* writes exactly one structured log line, ``provider_call``: gateway, operation, method,
  host, path (never the query), status, outcome and duration_ms; for a call that did not
  end ``ok`` also the request's headers and body and the answer's body, **redacted**
  (:func:`redact_headers`, :func:`redact_body`: secrets by field name, the call's declared
  sensitive fields, card numbers and wallet/phone numbers by pattern, then truncated);
* counts ``ownpay_provider_requests_total{gateway, operation, outcome}`` and observes
  ``ownpay_provider_request_duration_seconds{gateway, operation}`` -- timeouts and
  connection errors included.

It never retries: whether a call may be repeated is the adapter's decision (bKash never
repeats a call that may have acted; Stripe's SDK repeats one that did not, with the same
idempotency key).  Requests it sends carry :data:`EXTENSION` in their httpx extensions, so
a test can prove that no adapter bypasses it.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
import time
from collections.abc import Collection, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import structlog

from ownpay import metrics
from ownpay.gateways.base import GatewayError

log = structlog.get_logger("ownpay.gateways.executor")

EXTENSION = "ownpay_executor"  # httpx request extension set on every executed request
REDACTED = "[redacted]"
_EXCERPT = 1000  # characters of a redacted body kept in a log line

# Field (header, JSON key, form key) names whose values are secrets or personal data,
# compared without case, "-", "_", "[" or "]" (so ``X-APP-Key``, ``app_key`` and
# ``card[number]`` are all recognised).
_SECRET_NAMES = frozenset({
    "authorization", "proxyauthorization", "cookie", "setcookie", "username", "password",
    "appkey", "xappkey", "appsecret", "apikey", "xapikey", "secret", "secretkey",
    "clientsecret", "token", "idtoken", "accesstoken", "refreshtoken", "webhooksecret",
    "stripesignature", "signature", "cardnumber", "number", "cvc", "cvv", "pin", "otp",
    "msisdn", "customermsisdn", "payerreference", "wallet", "phone", "customerphone",
    "iban",
})
_SECRET_PARTS = ("secret", "password", "token", "authorization", "apikey", "appkey")
_CANON = re.compile(r"[-_\[\]\s]")
# 13-19 digits, optionally grouped by spaces or dashes: a card number when Luhn agrees.
_CARD = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])")
# Bangladeshi mobile (wallet) numbers with or without +880/880, and any E.164 number.
_PHONE = re.compile(r"(?<!\d)(?:(?:\+?880)?01[3-9]\d{8}|\+\d{8,15})(?!\d)")

CallOutcome = Literal["ok", "provider_error", "server_error", "timeout", "connection_error",
                  "cancelled"]


class ProviderUnavailable(GatewayError):
    """No usable answer from the provider; ``may_have_acted`` says what that means."""

    may_have_acted: bool

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


class ProviderDidNotAct(ProviderUnavailable):
    """The provider cannot have carried the request out: it never reached it (connection
    refused, DNS, TLS/connect error, connect timeout), or it refused before acting."""

    may_have_acted = False


class ProviderMayHaveActed(ProviderUnavailable):
    """The provider may have carried the request out (timeout after sending, connection
    dropped mid-answer, a 5xx, an answer that says nothing): ask it, never repeat blindly."""

    may_have_acted = True


# ---- redaction ---------------------------------------------------------------------------


def _canonical(name: str) -> str:
    return _CANON.sub("", name.lower())


def is_sensitive(name: str, extra: Collection[str] = ()) -> bool:
    """Whether a field of this name holds a secret or personal data (always redacted).
    A form key like ``card[cvc]`` is judged as a whole and by each of its parts."""
    declared = {_canonical(e) for e in extra}
    parts = [p for p in re.split(r"[\[\]]+", name) if p]
    for canon in {_canonical(name), *(_canonical(p) for p in parts)}:
        if canon in _SECRET_NAMES or canon in declared:
            return True
        if any(part in canon for part in _SECRET_PARTS):
            return True
    return False


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if _luhn(digits) else match.group()


def redact_text(text: str) -> str:
    """Card numbers (Luhn-valid 13-19 digits) and wallet/phone numbers masked."""
    return _PHONE.sub("[phone]", _CARD.sub(_card, text))


def _redact_value(value: Any, extra: Collection[str]) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if is_sensitive(str(k), extra) else _redact_value(v, extra)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(v, extra) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_headers(headers: Mapping[str, str] | httpx.Headers | None,
                   extra: Collection[str] = ()) -> dict[str, str]:
    """Headers as they may be logged: secret ones replaced, the others pattern-masked."""
    if not headers:
        return {}
    return {
        str(k): REDACTED if is_sensitive(str(k), extra) else redact_text(str(v))
        for k, v in headers.items()
    }


def redact_body(body: Any, extra: Collection[str] = (), *, form: bool = False) -> str:
    """A request or response body as it may be logged: a JSON document or a form with its
    secret and declared-sensitive fields replaced, anything else pattern-masked; truncated."""
    if body is None or body == b"" or body == "":
        return ""
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if not isinstance(body, str):  # a structure about to be sent as JSON
        text = jsonlib.dumps(_redact_value(body, extra), ensure_ascii=False, default=str)
        return text[:_EXCERPT]
    try:
        parsed = jsonlib.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict | list):
        text = jsonlib.dumps(_redact_value(parsed, extra), ensure_ascii=False)
    elif form or ("=" in body and " " not in body.strip()):
        pairs = parse_qsl(body, keep_blank_values=True)
        text = urlencode([(k, REDACTED if is_sensitive(k, extra) else redact_text(v))
                          for k, v in pairs], safe="[]")
    else:
        text = redact_text(body)
    return text[:_EXCERPT]


# ---- the executor ------------------------------------------------------------------------


def _failure(exc: httpx.HTTPError) -> tuple[CallOutcome, bool]:
    """(metric outcome, may the provider have acted) for a call that raised ``exc``."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return "timeout", False  # no connection to the provider was ever made/handed out
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", True  # read/write timeout: the request may have been received
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError
                  | httpx.LocalProtocolError):
        return "connection_error", False
    return "connection_error", True  # read/write/close error, remote protocol error, decoding


def _response_outcome(status: int) -> CallOutcome:
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "provider_error"
    return "ok"


class ProviderExecutor:
    """Sends one adapter's provider calls.  ``gateway`` is the adapter's slug (metric and
    log label); ``provider`` the name used in error messages ("bKash", "Stripe")."""

    def __init__(self, http: httpx.AsyncClient, *, gateway: str, provider: str) -> None:
        self.http = http
        self.gateway = gateway
        self.provider = provider

    async def send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        sensitive: Collection[str] = (),
        server_errors: Literal["raise", "return"] = "raise",
    ) -> httpx.Response:
        """One HTTP call, never retried.  Returns the response (any 1xx-4xx status, and 5xx
        with ``server_errors="return"``); raises :class:`ProviderDidNotAct` or
        :class:`ProviderMayHaveActed` when there is no usable answer.

        ``operation`` names the call in the adapter's words ("execute", "refund status");
        its snake_case form is the metric label.  ``sensitive``: body fields of this call
        to redact besides the always-secret ones."""
        label = operation.strip().replace(" ", "_")
        parts = urlsplit(url)
        started = time.perf_counter()
        status: int | None = None
        outcome: CallOutcome = "connection_error"
        error: str | None = None
        response: httpx.Response | None = None
        try:
            try:
                response = await self.http.request(
                    method, url, headers=headers, json=json, content=content,
                    extensions={EXTENSION: True},
                )
            except httpx.HTTPError as exc:
                outcome, acted = _failure(exc)
                error = type(exc).__name__
                raise self._unavailable(operation, exc, outcome, acted) from exc
            except asyncio.CancelledError:
                outcome, error = "cancelled", "CancelledError"
                raise
            status = response.status_code
            outcome = _response_outcome(status)
            if outcome == "server_error" and server_errors == "raise":
                raise ProviderMayHaveActed(
                    f"{self.provider} answered HTTP {status} on {operation}"
                )
            return response
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe_provider_call(self.gateway, label, outcome, elapsed)
            fields: dict[str, Any] = {
                "gateway": self.gateway, "operation": label, "method": method.upper(),
                "host": parts.hostname or "", "path": parts.path or "/", "status": status,
                "outcome": outcome, "duration_ms": round(elapsed * 1000, 1),
            }
            if outcome != "ok":
                form = "form-urlencoded" in httpx.Headers(headers or {}).get("content-type", "")
                fields["error"] = error
                fields["request_headers"] = redact_headers(headers, sensitive)
                fields["request_body"] = redact_body(json if json is not None else content,
                                                     sensitive, form=form)
                if response is not None:
                    fields["response_body"] = redact_body(response.content, sensitive)
                log.warning("provider_call", **fields)
            else:
                log.info("provider_call", **fields)

    def _unavailable(self, operation: str, exc: httpx.HTTPError, outcome: CallOutcome,
                     acted: bool) -> ProviderUnavailable:
        name = type(exc).__name__
        if not acted:
            return ProviderDidNotAct(f"{self.provider} unreachable on {operation}: {name}")
        if outcome == "timeout":
            return ProviderMayHaveActed(f"{self.provider} timed out on {operation}: {name}")
        return ProviderMayHaveActed(f"{self.provider} connection failed on {operation}: {name}")
