"""The OpenAPI document at ``/openapi.json``: FastAPI's, finished so it says what happens.

FastAPI generates the paths, parameters and schemas from the routes.  What it cannot know
is finished here, from the routes themselves rather than from a hand-kept list:

* request validation errors are answered ``400 VALIDATION_ERROR`` by
  :func:`ownpay.errors.install_handlers`, never ``422``: the generated 422s (and their
  schemas) are removed;
* the events OwnPay sends (``webhooks``) are acknowledged by any 2xx, not only 200;
* an operation whose dependencies include :func:`ownpay.merchants.auth.require_scope` gets
  the bearer API-key security requirement (with its scope, so Swagger UI's *Authorize*
  works), its scope in the description, and the 401/403 answers with the 403 message that
  scope really produces; every such operation may also answer ``500 INTERNAL_ERROR``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from ownpay.errors import DEFAULT_EXAMPLES, ErrorBody, auth_error_responses, documented_error
from ownpay.merchants.auth import require_scope

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
    found: set[str] = set()
    for sub in dependant.dependencies:
        if getattr(sub.call, "__qualname__", None) == _SCOPE_DEPENDENCY:
            scope = inspect.getclosurevars(sub.call).nonlocals.get("scope")
            if isinstance(scope, str):
                found.add(scope)
        found.update(required_scopes(sub))
    return sorted(found)


def finish(document: dict[str, Any], routes: Sequence[BaseRoute | RouteContext]) -> None:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for route in iter_route_contexts(routes):  # walks included routers, as FastAPI does
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path_item = document["paths"].get(route.path_format, {})
        for method in sorted(route.methods or ()):
            operation = path_item.get(method.lower())
            if operation is not None:
                _finish_operation(operation, required_scopes(route.dependant))
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
        }
    }


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
        responses["500"] = _in_envelope(
            documented_error(500, DEFAULT_EXAMPLES["INTERNAL_ERROR"]))
    operation["responses"] = dict(sorted(responses.items()))


def _in_envelope(response: dict[str, Any]) -> dict[str, Any]:
    response["content"]["application/json"]["schema"] = {"$ref": _SCHEMAS + ErrorBody.__name__}
    return response
