"""The one error envelope of the API and the domain exceptions that map onto it.

Every ``/api/`` error body is ``{"error": true, "message": ..., "code": ..., "errors"?: {...}}``
(see shared/spec/initiate-payment.md).  Services raise :class:`ApiError` subclasses; the
handlers below turn them into responses.  A 500 carries a request id that is also logged and
never a stack trace.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

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
        content=orjson.dumps(body),
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


_ERROR_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Validation failed or malformed JSON", {
        "error": True, "message": "Validation failed.", "code": "VALIDATION_ERROR",
        "errors": {"amount": ["The amount field is required."], "currency": ["Invalid currency code."]},
    }),
    401: ("Missing, malformed, unknown or revoked API key", {
        "error": True, "message": "The API key is not valid.", "code": "UNAUTHENTICATED"}),
    403: ("The key lacks the scope this route needs", {
        "error": True, "message": "This API key lacks the 'write' scope.", "code": "INSUFFICIENT_SCOPE"}),
    404: ("Unknown object, or gateway not configured/active", {
        "error": True, "message": "Gateway 'stripe' is not configured or inactive.",
        "code": "GATEWAY_NOT_FOUND"}),
    409: ("Conflict: INVALID_STATE, ORDER_ALREADY_PAID, IDEMPOTENCY_KEY_REUSED", {
        "error": True, "message": "Order 'ORDER-001' has already been paid.", "code": "ORDER_ALREADY_PAID"}),
    413: ("Body over 64 KiB", {
        "error": True, "message": "The request body must not exceed 64 KiB.", "code": "PAYLOAD_TOO_LARGE"}),
    415: ("Content-Type is not application/json", {
        "error": True, "message": "Content-Type must be application/json.", "code": "UNSUPPORTED_MEDIA_TYPE"}),
}


def ErrorResponses(*codes: int) -> dict[int | str, dict[str, Any]]:  # noqa: N802 - reads like a type
    """OpenAPI ``responses=`` entries in the error envelope for the given status codes."""
    schema = {
        "type": "object",
        "required": ["error", "message", "code"],
        "properties": {
            "error": {"type": "boolean", "const": True},
            "message": {"type": "string"},
            "code": {"type": "string", "description": "Stable UPPER_SNAKE error code"},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        },
    }
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        description, example = _ERROR_EXAMPLES[code]
        out[code] = {
            "description": description,
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    return out
