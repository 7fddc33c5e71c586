"""The one error envelope of the API and the catalogue of its codes, declared once.

Every ``/api/`` error body is ``{"error": true, "message": ..., "code": ..., "errors"?: {...}}``
(see shared/spec/initiate-payment.md).  Each :class:`ApiError` subclass carries its stable
``code``, its HTTP ``status_code`` and its ``meaning`` (what ``/docs`` says about it);
:func:`catalogue` lists them, so the OpenAPI tables cannot drift from the code.  Services
raise these; the handlers below turn them into responses.  A 500 carries a request id that
is also logged and never a stack trace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from ownpay import jsoncodec

log = structlog.get_logger("ownpay.errors")


class ApiError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    message: ClassVar[str] = "Bad request."
    # What /docs says; a subclass with a meaning is a documented, stable code.
    meaning: ClassVar[str] = ""
    # True: answered by the documented operations; False: elsewhere (listed apart).
    by_operations: ClassVar[bool] = True
    # The HTTP status as documented, when it varies ("4xx").
    documented_status: ClassVar[int | str | None] = None

    _catalogue: ClassVar[dict[str, type[ApiError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "meaning" in cls.__dict__:
            if cls.code in ApiError._catalogue:
                raise TypeError(f"error code {cls.code} declared twice")
            ApiError._catalogue[cls.code] = cls

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or type(self).message  # type: ignore[misc]
        self.errors = errors
        self.headers = headers
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": True, "message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


# ---- the documented operations' codes (the order is the order of /docs) -------------------


class ValidationFailed(ApiError):
    status_code = 400
    code = "VALIDATION_ERROR"
    message = "Validation failed."
    meaning = ("A field, query parameter or header is missing or invalid. `errors` maps every "
               "bad field to all of its messages, at once.")


class InvalidJson(ApiError):
    status_code = 400
    code = "INVALID_JSON"
    message = "The request body must be a JSON object."
    meaning = ("The body is not valid UTF-8 JSON, not a JSON object, or holds what OwnPay "
               "refuses to store: a number literal over 100 characters or beyond 10^±308, "
               "`NaN`/`Infinity`, a key twice in one object, a NUL character or lone surrogate "
               "in a string, nesting deeper than 32 levels, more than 10,000 values. "
               "`message` says which.")


class Unauthenticated(ApiError):
    status_code = 401
    code = "UNAUTHENTICATED"
    message = "A valid API key is required (Authorization: Bearer op_...)."
    meaning = ("No API key, or a malformed, unknown or revoked one (answered with "
               "`WWW-Authenticate: Bearer`).")


class InsufficientScope(ApiError):
    status_code = 403
    code = "INSUFFICIENT_SCOPE"
    meaning = ("The key is valid but lacks the scope the operation needs (`read`, `write` or "
               "`admin`).")


class NotFound(ApiError):
    status_code = 404
    code = "NOT_FOUND"
    message = "Not found."
    meaning = ("No such object for the key's merchant and mode (another merchant's or the "
               "other mode's object is the same plain 404); also any unknown path.")


class GatewayNotFound(ApiError):
    status_code = 404
    code = "GATEWAY_NOT_FOUND"
    meaning = ("The gateway (named in the body, or the payment's) is not configured or not "
               "active for the key's merchant and mode.")


class Conflict(ApiError):
    """A 409 with no more specific code (the base of the 409s below)."""

    status_code = 409
    code = "CONFLICT"


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "This Idempotency-Key was already used with a different request body."
    meaning = ("This `Idempotency-Key` was used within 48 h with a different body or on "
               "another operation.")


class OrderAlreadyPaid(Conflict):
    code = "ORDER_ALREADY_PAID"
    meaning = ("A payment of this `order_id` is already completed (or refunded) in this "
               "mode.")


class InvalidState(Conflict):
    code = "INVALID_STATE"
    meaning = ("The object's status does not allow the action, e.g. cancelling a completed "
               "payment or refunding an unpaid one.")


class RefundsNotSupported(Conflict):
    code = "REFUNDS_NOT_SUPPORTED"
    meaning = ("The payment's gateway cannot refund (it declares no refunds, or is no longer "
               "installed).")


class EndpointLimitReached(Conflict):
    code = "WEBHOOK_ENDPOINT_LIMIT"
    limit: ClassVar[int] = 16
    message = f"At most {limit} webhook endpoints per merchant and mode."
    meaning = f"The merchant already has {limit} webhook endpoints in this mode."


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body must not exceed 64 KiB."
    meaning = "The request body is over 64 KiB."


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    message = "Content-Type must be application/json."
    meaning = ("`Content-Type` is not `application/json` (or another `application/*+json` "
               "type).")


class RateLimited(ApiError):
    status_code = 429
    code = "RATE_LIMITED"
    message = "Too many requests: slow down and retry after the time in Retry-After."
    meaning = ("A rate limit was reached (per API key, per client IP, or per IP for failed "
               "authentication). `Retry-After` says when to retry; `RateLimit-Limit`, "
               "`RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` describe the "
               "limit.")


class InternalError(ApiError):
    status_code = 500
    code = "INTERNAL_ERROR"
    message = "Internal server error."
    meaning = ("An unexpected failure; no detail is leaked. `request_id` (also in the "
               "`X-Request-Id` header and the server log) identifies it.")


# ---- codes answered outside the documented operations ------------------------------------


class MethodNotAllowed(ApiError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    message = "Method not allowed."
    meaning = "Any path: it exists, but not with this HTTP method."
    by_operations = False


class HttpError(ApiError):
    code = "HTTP_ERROR"
    meaning = ("Any path: another HTTP-level refusal by the framework (rare); the HTTP status "
               "says which.")
    by_operations = False
    documented_status = "4xx"


class DuplicateProviderTransaction(Conflict):
    code = "DUPLICATE_PROVIDER_TRANSACTION"
    message = "This transaction ID has already been used for another payment."
    meaning = ("Hosted checkout (shown on the page) and provider callbacks: the transaction "
               "ID a customer entered for an offline payment was already used for another "
               "payment of the merchant.")
    by_operations = False


class InvalidSignature(ApiError):
    status_code = 400
    code = "INVALID_SIGNATURE"
    message = "The webhook signature could not be verified."
    meaning = ("Provider callbacks (`POST /gateways/{gateway}/webhooks/{merchant}/{mode}`): "
               "the provider's signature does not verify.")
    by_operations = False


class WebhookTooLarge(PayloadTooLarge):
    limit: ClassVar[int] = 256 * 1024
    message = f"The webhook body must not exceed {limit // 1024} KiB."


class GatewayUnavailable(ApiError):
    status_code = 502
    code = "GATEWAY_UNAVAILABLE"
    message = "The payment provider could not be reached. Please try again."
    meaning = ("Provider callbacks: the provider could not be asked about the event just "
               "now; the provider's retry is processed again.")
    by_operations = False
    documented_status = 503


class Forbidden(ApiError):
    status_code = 403
    code = "FORBIDDEN"
    message = "Forbidden."
    meaning = ("`GET /metrics`: with `OWNPAY_METRICS_TOKEN` set, a request without that "
               "bearer token; without it, a non-loopback client.")
    by_operations = False


class MerchantExists(Conflict):
    code = "MERCHANT_EXISTS"
    meaning = "Command line only (`ownpay merchants create`): the slug is taken."
    by_operations = False


class FieldErrors:
    """Every bad field with all of its messages, in the order found; raised at once as one
    ``VALIDATION_ERROR`` (ARCHITECTURE.md invariant 8)."""

    def __init__(self) -> None:
        self._errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self._errors.setdefault(field, []).append(message)

    def refuse_unknown(self, body: dict[str, Any], known: Iterable[str]) -> None:
        """The API's one rule for request bodies: a field it does not know is an error
        (``"expire_in"`` for ``expires_in`` must not silently do nothing)."""
        for name in sorted(set(body) - set(known)):
            self.add(name[:64], "Unknown field.")

    def __contains__(self, field: str) -> bool:
        return field in self._errors

    def __bool__(self) -> bool:
        return bool(self._errors)

    def as_dict(self) -> dict[str, list[str]]:
        return {field: list(messages) for field, messages in self._errors.items()}

    def raise_if_any(self) -> None:
        if self._errors:
            raise ValidationFailed(errors=self.as_dict())


def catalogue() -> dict[str, type[ApiError]]:
    """Every documented code, in declaration order."""
    return dict(ApiError._catalogue)


def documented_status(error: type[ApiError]) -> int | str:
    return error.documented_status if error.documented_status is not None else error.status_code


# ---- answering ------------------------------------------------------------------------------


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        content=jsoncodec.dumps(body),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def error_response(exc: ApiError) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return json_response(exc.status_code, exc.body(), headers or None)


def internal_error_response(request: Request, exc: BaseException) -> Response:
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    log.error("unhandled_error", request_id=request_id, path=request.url.path, exc_info=exc)
    return json_response(
        500,
        {"error": True, "message": InternalError.message, "code": InternalError.code,
         "request_id": request_id},
        {"X-Request-Id": request_id},
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path.  Starlette's 405 names only the
    first route that matched the path, while a path often has a route per method."""
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):  # into included routers
        match, _ = context.route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(context.methods or ())
    return sorted(methods)


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that keep every API error inside the envelope."""

    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        known: dict[int, type[ApiError]] = {
            404: NotFound, 405: MethodNotAllowed, 401: Unauthenticated}
        error = known.get(exc.status_code, HttpError)
        message = error.message if error is not HttpError else str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return json_response(
            exc.status_code,
            {"error": True, "message": message, "code": error.code},
            headers,
        )

    async def on_request_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.setdefault(".".join(loc) or "request", []).append(str(err.get("msg")))
        return error_response(ValidationFailed(errors=errors))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return internal_error_response(request, exc)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(Exception, on_unexpected)
