"""The OpenAPI document at ``/openapi.json``: FastAPI's, finished so it says what happens,
and the error answers every route documents (``ErrorResponses``, examples in the envelope).

FastAPI generates the paths, parameters and schemas from the routes.  What it cannot know
is finished here, from the routes themselves rather than from a hand-kept list:

* request validation errors are answered ``400 VALIDATION_ERROR`` by
  :func:`ownpay.errors.install_handlers`, never ``422``: the generated 422s (and their
  schemas) are removed;
* the events OwnPay sends (``webhooks``) are acknowledged by any 2xx, not only 200;
* an operation whose dependencies include :func:`ownpay.merchants.auth.require_scope` gets
  the bearer API-key security requirement (with its scope, so Swagger UI's *Authorize*
  works), its scope in the description, and the 401/403 answers with the 403 message that
  scope really produces; every such operation may also answer ``500 INTERNAL_ERROR``, and
  ``429 RATE_LIMITED`` with ``Retry-After`` and the ``RateLimit-*`` headers (the limits are
  checked where the key is);
* OpenAPI ``links`` say which answer feeds which operation (an intent's ``transaction_id``
  into its retrieval, cancellation and refunds; a refund's, an endpoint's and a test
  delivery's ``id`` into theirs), so a client generator -- or schemathesis' stateful phase --
  can follow create → get → refund.

Size: over 400 lines on purpose -- each finishing step is small, and they share one walk
over the routes; split, the steps would have to agree on its order across files.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.routing import BaseRoute

from ownpay.errors import (
    ApiError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
    catalogue,
    documented_status,
)
from ownpay.merchants.auth import BEARER, require_scope


def error_code_tables() -> str:
    """The Markdown list of codes for the API description (``/docs``), from the catalogue."""
    codes = list(catalogue().values())

    def table(errors: list[type[ApiError]]) -> str:
        rows = [f"| `{e.code}` | {documented_status(e)} | {e.meaning} |" for e in errors]
        return "\n".join(["| Code | HTTP | When |", "|---|---|---|", *rows])

    return (
        "### Error codes of the operations below\n\n"
        + table([e for e in codes if e.by_operations]) + "\n\n"
        "### Codes answered elsewhere\n\n"
        + table([e for e in codes if not e.by_operations]) + "\n"
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


# Every creating POST takes an Idempotency-Key header of at most 255 characters.
HEADER_TOO_LONG = validation_example(
    "Idempotency-Key over 255 characters",
    {"header.Idempotency-Key": ["String should have at most 255 characters"]})

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
    "RATE_LIMITED": (ErrorExample(
        "RATE_LIMITED", RateLimited.message, "Too many requests for this key or client IP"),),
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
    429: ("RATE_LIMITED",),
    500: ("INTERNAL_ERROR",),
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Always `Bearer`.", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {"description": "Seconds until a retry can succeed.",
                        "schema": {"type": "integer", "minimum": 1}},
        "RateLimit-Limit": {"description": "Requests allowed in the window.",
                            "schema": {"type": "integer"}},
        "RateLimit-Remaining": {"description": "Requests left in the window (0).",
                                "schema": {"type": "integer"}},
        "RateLimit-Reset": {"description": "Seconds until the window resets.",
                            "schema": {"type": "integer"}},
        "RateLimit-Policy": {"description": "The limit, e.g. `600;w=60`.",
                             "schema": {"type": "string"}},
    },
    500: {"X-Request-Id": {"description": "The same id as `request_id` in the body.",
                           "schema": {"type": "string"}}},
}
JSON_BODY_ERRORS = (413, 415)  # what reading a JSON body adds to a route's errors


def _examples_for(status: int, items: Sequence[str | ErrorExample]) -> list[ErrorExample]:
    found: list[ErrorExample] = []
    for item in items:
        examples = DEFAULT_EXAMPLES[item] if isinstance(item, str) else (item,)
        for example in examples:
            known = catalogue().get(example.code)
            if known is None or documented_status(known) != status:
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
    operation by :mod:`ownpay.web.openapi`, so routes need not list them.
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
        "description": " ".join(f"`{c}`: {catalogue()[c].meaning}" for c in codes),
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


# ---- finishing the document ------------------------------------------------------------

SECURITY_SCHEME = "ApiKey"
_SCHEMAS = "#/components/schemas/"
_SCOPE_DEPENDENCY = require_scope("read").__qualname__
_FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Serve the finished document (built once, on first request, like FastAPI's own)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            finish(generate(), app.routes)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def required_scopes(dependant: Any) -> list[str]:
    """Scopes demanded by ``require_scope`` anywhere in a route's dependency tree."""
    return sorted({scope for scope, _header in _key_requirements(dependant)})


def key_header(dependant: Any) -> str:
    """Where the route's ``require_scope`` takes the key from (``authorization``: Bearer)."""
    return next((header for _scope, header in _key_requirements(dependant)), BEARER)


def _key_requirements(dependant: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for sub in dependant.dependencies:
        if getattr(sub.call, "__qualname__", None) == _SCOPE_DEPENDENCY:
            closure = inspect.getclosurevars(sub.call).nonlocals
            scope, header = closure.get("scope"), closure.get("header", BEARER)
            if isinstance(scope, str) and isinstance(header, str):
                found.add((scope, header))
        found |= _key_requirements(sub)
    return found


def finish(document: dict[str, Any], routes: Sequence[BaseRoute | RouteContext]) -> None:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    extra_schemes: dict[str, dict[str, Any]] = {}
    for route in iter_route_contexts(routes):  # walks included routers, as FastAPI does
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path_item = document["paths"].get(route.path_format, {})
        for method in sorted(route.methods or ()):
            operation = path_item.get(method.lower())
            if operation is None:
                continue
            if getattr(route.original_route, "facade_render", None) is not None:
                header = key_header(route.dependant)
                if header != BEARER:
                    components.setdefault("securitySchemes", {})
                    extra_schemes[_header_scheme(header)] = {
                        "type": "apiKey", "in": "header", "name": header,
                        "description": f"An OwnPay API key in `{header}` (that product's "
                        "clients send it so); the brand must have switched this API on "
                        "(`ownpay compat enable`)."}
                _finish_facade_operation(operation, required_scopes(route.dependant),
                                         scheme=_header_scheme(header))
            else:
                _finish_operation(operation, required_scopes(route.dependant))
    _add_links(document["paths"])
    for path_item in document.get("webhooks", {}).values():
        for operation in path_item.values():
            responses = operation["responses"]
            responses.pop("422", None)
            if "2XX" in responses:  # any 2xx acknowledges an event, not only FastAPI's 200
                responses.pop("200", None)
    text = orjson.dumps([document["paths"], document.get("webhooks")]).decode()
    for name in _FASTAPI_422_SCHEMAS:
        if f'"{_SCHEMAS}{name}"' not in text:
            schemas.pop(name, None)
    schemas.setdefault(ErrorBody.__name__, ErrorBody.model_json_schema(
        ref_template=_SCHEMAS + "{model}"))
    components["schemas"] = dict(sorted(schemas.items()))
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "op_test_… / op_live_…",
            "description": "An OwnPay API key: `op_test_…` works in test mode only, "
            "`op_live_…` in live mode only. Each key has scopes (`read`, `write`, `admin`); "
            "an operation lists the one it needs. Keys are shown once, when created "
            "(`ownpay api-keys create`).",
        },
        **dict(sorted(extra_schemes.items())),
    }


def _header_scheme(header: str) -> str:
    """The security scheme's name for a key in ``header`` (ours: ``ApiKey``)."""
    if header == BEARER:
        return SECURITY_SCHEME
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", header)) or "Key"


_API = "/api/v1"
_TXN = "$response.body#/transaction_id"
_ID = "$response.body#/id"
# (producer method, path, status) -> (link name, consumer method, path, parameters, body)
_LINKS: dict[tuple[str, str, str], tuple[tuple[str, str, str, dict[str, str],
                                               dict[str, str] | None], ...]] = {
    ("post", f"{_API}/payment-intents", "201"): (
        ("GetIntent", "get", f"{_API}/payment-intents/{{transaction_id}}",
         {"transaction_id": _TXN}, None),
        ("GetTransaction", "get", f"{_API}/transactions/{{transaction_id}}",
         {"transaction_id": _TXN}, None),
        ("CancelIntent", "post", f"{_API}/payment-intents/{{transaction_id}}/cancel",
         {"transaction_id": _TXN}, None),
        ("ApproveIntent", "post", f"{_API}/payment-intents/{{transaction_id}}/approve",
         {"transaction_id": _TXN}, None),
        ("RejectIntent", "post", f"{_API}/payment-intents/{{transaction_id}}/reject",
         {"transaction_id": _TXN}, None),
        ("RefundIntent", "post", f"{_API}/refunds", {}, {"transaction_id": _TXN}),
    ),
    ("post", f"{_API}/refunds", "201"): (
        ("GetRefund", "get", f"{_API}/refunds/{{refund_id}}", {"refund_id": _ID}, None),
        ("ConfirmRefund", "post", f"{_API}/refunds/{{refund_id}}/confirm",
         {"refund_id": _ID}, None),
        ("FailRefund", "post", f"{_API}/refunds/{{refund_id}}/fail", {"refund_id": _ID}, None),
    ),
    ("post", f"{_API}/webhook-endpoints", "201"): tuple(
        (name, method, f"{_API}/webhook-endpoints/{{endpoint_id}}{suffix}",
         {"endpoint_id": _ID}, None)
        for name, method, suffix in (
            ("GetEndpoint", "get", ""), ("UpdateEndpoint", "patch", ""),
            ("DeleteEndpoint", "delete", ""), ("RotateSecret", "post", "/rotate-secret"))
    ) + (("TestEndpoint", "post", f"{_API}/webhooks/tests", {}, {"endpoint_id": _ID}),),
    ("post", f"{_API}/webhooks/tests", "200"): (
        ("GetDelivery", "get", f"{_API}/webhooks/deliveries/{{delivery_id}}",
         {"delivery_id": "$response.body#/delivery_id"}, None),
        ("RetryDelivery", "post", f"{_API}/webhooks/deliveries/{{delivery_id}}/retry",
         {"delivery_id": "$response.body#/delivery_id"}, None),
    ),
}


def _add_links(paths: dict[str, Any]) -> None:
    for (method, path, status), links in _LINKS.items():
        response = paths[path][method]["responses"][status]
        found = response.setdefault("links", {})
        for name, to_method, to_path, parameters, body in links:
            link: dict[str, Any] = {"operationId": paths[to_path][to_method]["operationId"]}
            if parameters:
                link["parameters"] = parameters
            if body:
                link["requestBody"] = body
            found[name] = link


def _finish_operation(operation: dict[str, Any], scopes: list[str]) -> None:
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)
    if scopes:
        operation["security"] = [{SECURITY_SCHEME: scopes}]
        named = " and ".join(f"`{s}`" for s in scopes)
        note = f"**Authentication:** an API key with the {named} scope."
        operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".lstrip()
        for status, response in auth_error_responses(scopes).items():
            responses[str(status)] = _in_envelope(response)
        responses["429"] = _in_envelope(
            documented_error(429, DEFAULT_EXAMPLES["RATE_LIMITED"]))
        responses["500"] = _in_envelope(
            documented_error(500, DEFAULT_EXAMPLES["INTERNAL_ERROR"]))
    operation["responses"] = dict(sorted(responses.items()))


def _finish_facade_operation(operation: dict[str, Any], scopes: list[str], *,
                             scheme: str = SECURITY_SCHEME) -> None:
    """A compatibility facade's operation (``compat/``): its errors, 422 included, are in
    that API's own envelope as the route declared them; only an unexpected failure is ours.
    FastAPI's generated 422 is dropped: a facade renders request validation itself."""
    responses: dict[str, Any] = operation["responses"]
    generated = responses.get("422", {}).get("content", {}).get("application/json", {})
    if generated.get("schema", {}).get("$ref") == f"{_SCHEMAS}HTTPValidationError":
        responses.pop("422")
    if scopes:
        operation["security"] = [{scheme: scopes}]
        named = " and ".join(f"`{s}`" for s in scopes)
        note = f"**Authentication:** an API key with the {named} scope."
        operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".lstrip()
    responses["500"] = _in_envelope(documented_error(500, DEFAULT_EXAMPLES["INTERNAL_ERROR"]))
    operation["responses"] = dict(sorted(responses.items()))


def _in_envelope(response: dict[str, Any]) -> dict[str, Any]:
    response["content"]["application/json"]["schema"] = {"$ref": _SCHEMAS + ErrorBody.__name__}
    return response
