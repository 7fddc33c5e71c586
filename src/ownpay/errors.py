"""The one error envelope of the API and the domain exceptions that map onto it.

Every ``/api/`` error body is ``{"error": true, "message": ..., "code": ..., "errors"?: {...}}``
(see shared/spec/initiate-payment.md).  Services raise :class:`ApiError` subclasses; the
handlers below turn them into responses.  A 500 carries a request id that is also logged and
never a stack trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ownpay import jsoncodec

log = structlog.get_logger("ownpay.errors")


class ApiError(Exception):
    status_code = 400
    code = "BAD_REQUEST"
    message = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.errors = errors
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": True, "message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class ValidationFailed(ApiError):
    status_code = 400
    code = "VALIDATION_ERROR"
    message = "Validation failed."


class InvalidJson(ApiError):
    status_code = 400
    code = "INVALID_JSON"
    message = "The request body must be a JSON object."


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body must not exceed 64 KiB."


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    message = "Content-Type must be application/json."


class Unauthenticated(ApiError):
    status_code = 401
    code = "UNAUTHENTICATED"
    message = "A valid API key is required (Authorization: Bearer op_...)."


class InsufficientScope(ApiError):
    status_code = 403
    code = "INSUFFICIENT_SCOPE"


class NotFound(ApiError):
    status_code = 404
    code = "NOT_FOUND"
    message = "Not found."


class GatewayNotFound(ApiError):
    status_code = 404
    code = "GATEWAY_NOT_FOUND"


class Conflict(ApiError):
    status_code = 409
    code = "CONFLICT"


class InvalidState(ApiError):
    status_code = 409
    code = "INVALID_STATE"


class GatewayUnavailable(ApiError):
    status_code = 502
    code = "GATEWAY_UNAVAILABLE"
    message = "The payment provider could not be reached. Please try again."


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=jsoncodec.dumps(body),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def error_response(exc: ApiError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return json_response(exc.status_code, exc.body(), headers)


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that keep every API error inside the envelope."""

    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHENTICATED"}
        messages = {404: "Not found.", 405: "Method not allowed."}
        code = codes.get(exc.status_code, "HTTP_ERROR")
        message = messages.get(exc.status_code, str(exc.detail))
        return json_response(
            exc.status_code,
            {"error": True, "message": message, "code": code},
            dict(exc.headers or {}),
        )

    async def on_request_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.setdefault(".".join(loc) or "request", []).append(str(err.get("msg")))
        return error_response(ValidationFailed(errors=errors))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        log.error("unhandled_error", request_id=request_id, path=request.url.path, exc_info=exc)
        return json_response(
            500,
            {
                "error": True,
                "message": "Internal server error.",
                "code": "INTERNAL_ERROR",
                "request_id": request_id,
            },
            {"X-Request-Id": request_id},
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(Exception, on_unexpected)


# ---- the OpenAPI side: every stable code, and the examples each route documents --------------


@dataclass(frozen=True)
class ErrorCode:
    """A stable error code: its HTTP status and when it is answered."""

    code: str
    status: int | str  # a str ("4xx") when the HTTP status varies
    meaning: str


# Codes the documented ``/api/`` operations answer (each route lists the ones it can).
API_ERROR_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("VALIDATION_ERROR", 400, "A field, query parameter or header is missing or "
              "invalid. `errors` maps every bad field to all of its messages, at once."),
    ErrorCode("INVALID_JSON", 400, "The body is not valid UTF-8 JSON, not a JSON object, or "
              "holds what OwnPay refuses to store: a number literal over 100 characters or "
              "beyond 10^±308, `NaN`/`Infinity`, a key twice in one object, a NUL character or "
              "lone surrogate in a string, nesting deeper than 32 levels, more than 10,000 "
              "values. `message` says which."),
    ErrorCode("UNAUTHENTICATED", 401, "No API key, or a malformed, unknown or revoked one "
              "(answered with `WWW-Authenticate: Bearer`)."),
    ErrorCode("INSUFFICIENT_SCOPE", 403, "The key is valid but lacks the scope the operation "
              "needs (`read`, `write` or `admin`)."),
    ErrorCode("NOT_FOUND", 404, "No such object for the key's merchant and mode (another "
              "merchant's or the other mode's object is the same plain 404); also any unknown "
              "path."),
    ErrorCode("GATEWAY_NOT_FOUND", 404, "The gateway (named in the body, or the payment's) is "
              "not configured or not active for the key's merchant and mode."),
    ErrorCode("IDEMPOTENCY_KEY_REUSED", 409, "This `Idempotency-Key` was used within 48 h with "
              "a different body or on another operation."),
    ErrorCode("ORDER_ALREADY_PAID", 409, "A payment of this `order_id` is already completed "
              "(or refunded) in this mode."),
    ErrorCode("INVALID_STATE", 409, "The object's status does not allow the action, e.g. "
              "cancelling a completed payment or refunding an unpaid one."),
    ErrorCode("REFUNDS_NOT_SUPPORTED", 409, "The payment's gateway cannot refund (it declares "
              "no refunds, or is no longer installed)."),
    ErrorCode("WEBHOOK_ENDPOINT_LIMIT", 409, "The merchant already has 16 webhook endpoints in "
              "this mode."),
    ErrorCode("PAYLOAD_TOO_LARGE", 413, "The request body is over 64 KiB."),
    ErrorCode("UNSUPPORTED_MEDIA_TYPE", 415, "`Content-Type` is not `application/json` (or "
              "another `application/*+json` type)."),
    ErrorCode("INTERNAL_ERROR", 500, "An unexpected failure; no detail is leaked. `request_id` "
              "(also in the `X-Request-Id` header and the server log) identifies it."),
)
# Codes answered outside the documented operations: listed in the API description.
OTHER_ERROR_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("METHOD_NOT_ALLOWED", 405, "Any path: it exists, but not with this HTTP method."),
    ErrorCode("HTTP_ERROR", "4xx", "Any path: another HTTP-level refusal by the framework "
              "(rare); the HTTP status says which."),
    ErrorCode("DUPLICATE_PROVIDER_TRANSACTION", 409, "Hosted checkout (shown on the page) and "
              "provider callbacks: the transaction ID a customer entered for an offline payment "
              "was already used for another payment of the merchant."),
    ErrorCode("INVALID_SIGNATURE", 400, "Provider callbacks "
              "(`POST /gateways/{gateway}/webhooks/{merchant}/{mode}`): the provider's "
              "signature does not verify."),
    ErrorCode("GATEWAY_UNAVAILABLE", 503, "Provider callbacks: the provider could not be asked "
              "about the event just now; the provider's retry is processed again."),
    ErrorCode("FORBIDDEN", 403, "`GET /metrics`: with `OWNPAY_METRICS_TOKEN` set, a request "
              "without that bearer token; without it, a non-loopback client."),
    ErrorCode("MERCHANT_EXISTS", 409, "Command line only (`ownpay merchants create`): the "
              "slug is taken."),
)
CODES: dict[str, ErrorCode] = {c.code: c for c in API_ERROR_CODES + OTHER_ERROR_CODES}


def error_code_tables() -> str:
    """The Markdown list of codes for the API description (``/docs``)."""
    def table(codes: tuple[ErrorCode, ...]) -> str:
        rows = [f"| `{c.code}` | {c.status} | {c.meaning} |" for c in codes]
        return "\n".join(["| Code | HTTP | When |", "|---|---|---|", *rows])

    return (
        "### Error codes of the operations below\n\n" + table(API_ERROR_CODES) + "\n\n"
        "### Codes answered elsewhere\n\n" + table(OTHER_ERROR_CODES) + "\n"
    )


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent when not set: never sent as null


class ErrorBody(BaseModel):
    """The one error envelope of every `/api/` error answer."""

    error: Literal[True] = Field(description="Always `true`: tells an error from a success.")
    message: str = Field(description="For people; the wording may change. Branch on `code`.")
    code: str = Field(description="Stable UPPER_SNAKE error code (listed in the API "
                      "description).", examples=["VALIDATION_ERROR"])
    errors: dict[str, list[str]] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default,
        description="`VALIDATION_ERROR` only: every bad field (a query parameter or header is "
        "named as such, e.g. `header.Idempotency-Key`) with all of its messages.")
    request_id: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default,
        description="`INTERNAL_ERROR` only: the request's id, also in `X-Request-Id` and in "
        "the server log. Quote it when reporting the problem.")


@dataclass(frozen=True)
class ErrorExample:
    """One documented error answer, with the message text the code really sends."""

    code: str
    message: str
    summary: str
    errors: Mapping[str, Sequence[str]] | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": True, "message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = {name: list(messages) for name, messages in self.errors.items()}
        body.update(self.extra)
        return body


def validation_example(summary: str, errors: Mapping[str, Sequence[str]]) -> ErrorExample:
    return ErrorExample("VALIDATION_ERROR", ValidationFailed.message, summary, errors)


def not_found_example(message: str, summary: str = "No such object for this key's merchant "
                      "and mode") -> ErrorExample:
    return ErrorExample("NOT_FOUND", message, summary)


def invalid_state_example(message: str, summary: str) -> ErrorExample:
    return ErrorExample("INVALID_STATE", message, summary)


# What a route gets when it names a code without its own example.
DEFAULT_EXAMPLES: dict[str, tuple[ErrorExample, ...]] = {
    "VALIDATION_ERROR": (validation_example(
        "Every bad field at once (the spec's example)",
        {"amount": ["The amount field is required."], "currency": ["Invalid currency code."]}),),
    "INVALID_JSON": (
        ErrorExample("INVALID_JSON", "The request body is not valid JSON.",
                     "The body does not parse as JSON"),
        ErrorExample("INVALID_JSON", "The request body must be a JSON object.",
                     "The body is JSON, but not an object"),
    ),
    "UNAUTHENTICATED": (
        ErrorExample("UNAUTHENTICATED", Unauthenticated.message,
                     "No Authorization: Bearer header"),
        ErrorExample("UNAUTHENTICATED", "The API key is malformed.",
                     "Not an op_test_… / op_live_… key"),
        ErrorExample("UNAUTHENTICATED", "The API key is not valid.", "Unknown key"),
        ErrorExample("UNAUTHENTICATED", "The API key has been revoked.",
                     "Revoked key, or its merchant is suspended"),
    ),
    "INSUFFICIENT_SCOPE": (ErrorExample(
        "INSUFFICIENT_SCOPE", "This API key lacks the 'write' scope.",
        "The key lacks the operation's scope"),),
    "NOT_FOUND": (not_found_example(NotFound.message, "Unknown path"),),
    "GATEWAY_NOT_FOUND": (ErrorExample(
        "GATEWAY_NOT_FOUND", "Gateway 'stripe' is not configured or inactive.",
        "Gateway not configured or inactive (the spec's example)"),),
    "IDEMPOTENCY_KEY_REUSED": (ErrorExample(
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was already used with a different request body.",
        "Same Idempotency-Key, different body or operation"),),
    "ORDER_ALREADY_PAID": (ErrorExample(
        "ORDER_ALREADY_PAID", "Order 'ORDER-001' has already been paid.",
        "A payment of this order_id is already completed"),),
    "REFUNDS_NOT_SUPPORTED": (ErrorExample(
        "REFUNDS_NOT_SUPPORTED", "Gateway 'cash_on_delivery' does not support refunds.",
        "The payment's gateway cannot refund"),),
    "WEBHOOK_ENDPOINT_LIMIT": (ErrorExample(
        "WEBHOOK_ENDPOINT_LIMIT", "At most 16 webhook endpoints per merchant and mode.",
        "16 endpoints already"),),
    "PAYLOAD_TOO_LARGE": (ErrorExample(
        "PAYLOAD_TOO_LARGE", PayloadTooLarge.message, "Body over 64 KiB"),),
    "UNSUPPORTED_MEDIA_TYPE": (ErrorExample(
        "UNSUPPORTED_MEDIA_TYPE", UnsupportedMediaType.message,
        "Content-Type is not application/json"),),
    "INTERNAL_ERROR": (ErrorExample(
        "INTERNAL_ERROR", "Internal server error.", "Unexpected failure (see request_id)",
        extra={"request_id": "5f0c3a9e2b7d4c1a8e6f0b3d9a7c5e21"}),),
}
# Statuses whose code is unambiguous: ``ErrorResponses(413)`` needs no ``codes``.
_DEFAULT_CODES: dict[int, tuple[str, ...]] = {
    400: ("VALIDATION_ERROR",),
    401: ("UNAUTHENTICATED",),
    403: ("INSUFFICIENT_SCOPE",),
    404: ("NOT_FOUND",),
    413: ("PAYLOAD_TOO_LARGE",),
    415: ("UNSUPPORTED_MEDIA_TYPE",),
    500: ("INTERNAL_ERROR",),
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Always `Bearer`.", "schema": {"type": "string"}}},
    500: {"X-Request-Id": {"description": "The same id as `request_id` in the body.",
                           "schema": {"type": "string"}}},
}
JSON_BODY_ERRORS = (413, 415)  # what reading a JSON body adds to a route's errors


def _examples_for(status: int, items: Sequence[str | ErrorExample]) -> list[ErrorExample]:
    found: list[ErrorExample] = []
    for item in items:
        examples = DEFAULT_EXAMPLES[item] if isinstance(item, str) else (item,)
        for example in examples:
            known = CODES.get(example.code)
            if known is None or known.status != status:
                raise ValueError(f"{example.code} is not a {status} error code")
            found.append(example)
    return found


def ErrorResponses(  # noqa: N802 - reads like a type
    *statuses: int, codes: Mapping[int, Sequence[str | ErrorExample]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries in the error envelope.

    ``codes`` says which codes a route answers per status, as code names (their default
    examples) or :class:`ErrorExample` with the route's own message texts; a bare status
    uses its only code (409 has several, so it must be spelled out).  Every code becomes a
    named example.  401, 403 (with the route's scope) and 500 are added to every protected
    operation by :mod:`ownpay.openapi`, so routes need not list them.
    """
    wanted = dict.fromkeys([*statuses, *(codes or {})])
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted(wanted):
        items = (codes or {}).get(status) or _DEFAULT_CODES.get(status)
        if not items:
            raise ValueError(f"say which codes the route answers with {status}")
        out[status] = {"model": ErrorBody,
                       **documented_error(status, _examples_for(status, items))}
    return out


def documented_error(status: int, examples: Sequence[ErrorExample]) -> dict[str, Any]:
    """One OpenAPI response: the codes and one named example per answer.  The schema
    (:class:`ErrorBody`) is added by the caller: ``model=`` for a route, a ``$ref`` in the
    finished document."""
    codes = list(dict.fromkeys(e.code for e in examples))
    named: dict[str, dict[str, Any]] = {}
    for example in examples:
        name = example.code
        number = 2
        while name in named:
            name, number = f"{example.code}_{number}", number + 1
        named[name] = {"summary": example.summary, "value": example.body()}
    response: dict[str, Any] = {
        "description": " ".join(f"`{c}`: {CODES[c].meaning}" for c in codes),
        "content": {"application/json": {"examples": named}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def auth_error_responses(scopes: Sequence[str]) -> dict[int, dict[str, Any]]:
    """401 and 403 of an operation that needs ``scopes``, with the real 403 message."""
    forbidden = [ErrorExample("INSUFFICIENT_SCOPE", f"This API key lacks the '{scope}' scope.",
                              f"The key lacks the '{scope}' scope") for scope in scopes]
    return {
        401: documented_error(401, DEFAULT_EXAMPLES["UNAUTHENTICATED"]),
        403: documented_error(403, forbidden),
    }
