"""The OpenAPI document at ``/openapi.json`` (and ``/docs``) is complete and truthful: the
spec's examples verbatim, every field described, and, for every route, exactly the error
codes it can answer -- each documented example checked against what the API really answers.

``openapi-spec-validator`` is not installed (and there is no network to fetch the OpenAPI
3.1 meta-schema), so :func:`structural_problems` checks the document's structure by hand:
the version, path templates and their parameters, operation ids, response keys, media types
(``example`` xor ``examples``), security requirements and that every ``$ref`` resolves.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.merchants.service import SCOPES
from ownpay.webhooks.service import EVENT_TYPES
from tests.support.checkout import paid
from tests.support.factories import MerchantKeys, create_merchant, intent_body, make_delivery
from tests.support.routes import ROUTES

SRC = Path(__file__).resolve().parents[2] / "src" / "ownpay"

# The examples of shared/spec/initiate-payment.md, verbatim.
SPEC_EXAMPLE = {
    "gateway": "stripe",
    "amount": 99.99,
    "currency": "USD",
    "order_id": "ORDER-20240615-001",
    "customer_name": "Jane Smith",
    "customer_email": "jane@example.com",
    "customer_phone": "+1-555-0100",
    "description": "Annual subscription — Professional Plan",
    "return_url": "https://yoursite.com/order/success",
    "cancel_url": "https://yoursite.com/order/cancel",
    "metadata": {"user_id": "42", "plan": "professional"},
}
SPEC_201 = {
    "success": True,
    "transaction_id": "txn_9f2c3a4b5d6e7f8a",
    "payment_url": "https://pay.yourstore.com/checkout/txn_9f2c3a4b5d6e7f8a",
    "status": "pending",
    "expires_at": "2024-06-15T14:30:00Z",
}
SPEC_400 = {
    "error": True,
    "message": "Validation failed.",
    "code": "VALIDATION_ERROR",
    "errors": {"amount": ["The amount field is required."], "currency": ["Invalid currency code."]},
}
SPEC_404 = {
    "error": True,
    "message": "Gateway 'stripe' is not configured or inactive.",
    "code": "GATEWAY_NOT_FOUND",
}
CREATE_ERRORS = ("VALIDATION_ERROR", "INVALID_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE",
                 "UNAUTHENTICATED", "INSUFFICIENT_SCOPE", "GATEWAY_NOT_FOUND",
                 "IDEMPOTENCY_KEY_REUSED", "ORDER_ALREADY_PAID")

# ---- what each route can answer, written down by reading the code (not by the app) --------

STATUS_OF = {
    "VALIDATION_ERROR": 400, "INVALID_JSON": 400, "UNAUTHENTICATED": 401,
    "INSUFFICIENT_SCOPE": 403, "NOT_FOUND": 404, "GATEWAY_NOT_FOUND": 404,
    "IDEMPOTENCY_KEY_REUSED": 409, "ORDER_ALREADY_PAID": 409, "INVALID_STATE": 409,
    "REFUNDS_NOT_SUPPORTED": 409, "WEBHOOK_ENDPOINT_LIMIT": 409, "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415, "RATE_LIMITED": 429, "INTERNAL_ERROR": 500,
}
PROTECTED = {"UNAUTHENTICATED", "INSUFFICIENT_SCOPE", "RATE_LIMITED", "INTERNAL_ERROR"}
JSON_BODY = {"PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "INVALID_JSON", "VALIDATION_ERROR"}
OPTIONAL_BODY = {"INVALID_JSON", "VALIDATION_ERROR"}  # body read without the JSON checks
INTENTS = "/api/v1/payment-intents"
ENDPOINTS = "/api/v1/webhook-endpoints"
DELIVERIES = "/api/v1/webhooks/deliveries"
CUSTOMERS = "/api/v1/customers"
INVOICES = "/api/v1/invoices"
CAN_ANSWER: dict[tuple[str, str], set[str]] = {
    ("POST", INTENTS): JSON_BODY | {"GATEWAY_NOT_FOUND", "IDEMPOTENCY_KEY_REUSED",
                                   "ORDER_ALREADY_PAID"},
    ("GET", INTENTS + "/{transaction_id}"): {"NOT_FOUND"},
    ("POST", INTENTS + "/{transaction_id}/cancel"): OPTIONAL_BODY | {"NOT_FOUND",
                                                                     "INVALID_STATE"},
    ("POST", INTENTS + "/{transaction_id}/approve"): OPTIONAL_BODY | {"NOT_FOUND",
                                                                      "INVALID_STATE"},
    ("POST", INTENTS + "/{transaction_id}/reject"): OPTIONAL_BODY | {"NOT_FOUND",
                                                                     "INVALID_STATE"},
    ("POST", "/api/v1/refunds"): JSON_BODY | {"NOT_FOUND", "GATEWAY_NOT_FOUND",
                                              "IDEMPOTENCY_KEY_REUSED", "INVALID_STATE",
                                              "REFUNDS_NOT_SUPPORTED"},
    ("GET", "/api/v1/refunds"): {"VALIDATION_ERROR"},
    ("GET", "/api/v1/refunds/{refund_id}"): {"NOT_FOUND"},
    ("POST", "/api/v1/refunds/{refund_id}/confirm"): OPTIONAL_BODY | {"NOT_FOUND",
                                                                      "INVALID_STATE"},
    ("POST", "/api/v1/refunds/{refund_id}/fail"): OPTIONAL_BODY | {"NOT_FOUND",
                                                                   "INVALID_STATE"},
    ("POST", ENDPOINTS): JSON_BODY | {"WEBHOOK_ENDPOINT_LIMIT"},
    ("GET", ENDPOINTS): set(),
    ("GET", ENDPOINTS + "/{endpoint_id}"): {"NOT_FOUND"},
    ("PATCH", ENDPOINTS + "/{endpoint_id}"): JSON_BODY | {"NOT_FOUND"},
    ("DELETE", ENDPOINTS + "/{endpoint_id}"): {"NOT_FOUND"},
    ("POST", ENDPOINTS + "/{endpoint_id}/rotate-secret"): {"NOT_FOUND"},
    ("GET", DELIVERIES): {"VALIDATION_ERROR"},
    ("GET", DELIVERIES + "/{delivery_id}"): {"NOT_FOUND"},
    ("POST", DELIVERIES + "/{delivery_id}/retry"): {"NOT_FOUND", "INVALID_STATE"},
    ("POST", "/api/v1/webhooks/tests"): JSON_BODY | {"NOT_FOUND"},
    ("GET", "/api/v1/ledger/balances"): set(),
    ("GET", "/api/v1/fee-rules"): set(),
    ("PUT", "/api/v1/fee-rules"): JSON_BODY,
    ("DELETE", "/api/v1/fee-rules"): {"VALIDATION_ERROR", "NOT_FOUND"},
    ("GET", "/api/v1/transactions"): {"VALIDATION_ERROR"},
    ("GET", "/api/v1/transactions/export"): {"VALIDATION_ERROR"},
    ("GET", "/api/v1/transactions/{transaction_id}"): {"NOT_FOUND"},
    ("GET", "/api/v1/sms/devices"): set(),
    ("POST", "/api/v1/sms/pairing-codes"): OPTIONAL_BODY,
    ("POST", "/api/v1/sms/devices/{device_id}/revoke"): OPTIONAL_BODY | {"NOT_FOUND"},
    ("GET", "/api/v1/sms/messages"): {"VALIDATION_ERROR"},
    ("POST", "/api/v1/payment-links"): JSON_BODY,
    ("GET", "/api/v1/payment-links"): {"VALIDATION_ERROR"},
    ("GET", "/api/v1/payment-links/{link_id}"): {"NOT_FOUND"},
    ("PATCH", "/api/v1/payment-links/{link_id}"): JSON_BODY | {"NOT_FOUND"},
    ("POST", "/api/v1/domains"): JSON_BODY,
    ("GET", "/api/v1/domains"): set(),
    ("GET", "/api/v1/domains/{domain_id}"): {"NOT_FOUND"},
    ("DELETE", "/api/v1/domains/{domain_id}"): {"NOT_FOUND"},
    ("POST", "/api/v1/domains/{domain_id}/verify"): {"NOT_FOUND"},
    ("POST", "/api/v1/domains/{domain_id}/primary"): {"NOT_FOUND", "INVALID_STATE"},
    ("POST", CUSTOMERS): JSON_BODY | {"IDEMPOTENCY_KEY_REUSED"},
    ("GET", CUSTOMERS): {"VALIDATION_ERROR"},
    ("GET", CUSTOMERS + "/{customer_id}"): {"NOT_FOUND"},
    ("PATCH", CUSTOMERS + "/{customer_id}"): JSON_BODY | {"NOT_FOUND", "INVALID_STATE"},
    ("POST", CUSTOMERS + "/{customer_id}/forget"): {"NOT_FOUND"},
    ("GET", CUSTOMERS + "/{customer_id}/payments"): {"VALIDATION_ERROR", "NOT_FOUND"},
    ("POST", INVOICES): JSON_BODY | {"IDEMPOTENCY_KEY_REUSED"},
    ("GET", INVOICES): {"VALIDATION_ERROR"},
    ("GET", INVOICES + "/{invoice_id}"): {"NOT_FOUND"},
    ("PATCH", INVOICES + "/{invoice_id}"): JSON_BODY | {"NOT_FOUND", "INVALID_STATE"},
    ("POST", INVOICES + "/{invoice_id}/finalize"): OPTIONAL_BODY | {"NOT_FOUND",
                                                                    "INVALID_STATE"},
    ("POST", INVOICES + "/{invoice_id}/void"): OPTIONAL_BODY | {"NOT_FOUND", "INVALID_STATE"},
    ("POST", INVOICES + "/{invoice_id}/mark-uncollectible"): OPTIONAL_BODY | {
        "NOT_FOUND", "INVALID_STATE"},
}
# Codes that exist in the source but are never sent: class defaults that every raise
# overrides with its own code.
NEVER_SENT = {"BAD_REQUEST", "CONFLICT"}

TRANSACTIONS = "/api/v1/transactions"

# Documented examples the generic checks below cannot provoke, each with the reason.
UNPROVOKED: dict[tuple[str, str, str], str] = {
    ("POST", INTENTS + "/{transaction_id}/approve", "Another operator decided it a moment "
     "earlier"): "a race between two operators",
    ("POST", INTENTS + "/{transaction_id}/reject", "Another operator decided it a moment "
     "earlier"): "a race between two operators",
    ("POST", "/api/v1/refunds", "Gateway not configured or inactive (the spec's example)"):
        "needs a paid Stripe payment whose gateway is disabled afterwards",
    ("POST", "/api/v1/refunds", "The payment's gateway cannot refund"):
        "every installed gateway refunds",
    ("POST", "/api/v1/refunds/{refund_id}/confirm", "The gateway is settling it"):
        "needs a refund pending with a gateway that can be asked",
    ("POST", "/api/v1/refunds/{refund_id}/fail", "The gateway is settling it"):
        "needs a refund pending with a gateway that can be asked",
    ("POST", "/api/v1/refunds/{refund_id}/confirm", "Settled a moment earlier by someone "
     "else"): "a race with the worker",
    ("POST", "/api/v1/refunds/{refund_id}/fail", "Settled a moment earlier by someone else"):
        "a race with the worker",
    ("POST", DELIVERIES + "/{delivery_id}/retry", "An attempt is in flight"):
        "a race with a worker's lease",
}
PLACEHOLDERS = {
    "transaction_id": "txn_0000000000000000",
    "refund_id": "rf_0000000000000000",
    "endpoint_id": "we_000000000000000000000000",
    "delivery_id": "dlv_000000000000000000000000",
    "device_id": "dev_0000000000000000",
    "link_id": "plink_0000000000000000",
    "domain_id": "dom_0000000000000000",
    "customer_id": "cus_0000000000000000",
    "invoice_id": "inv_0000000000000000",
}
# Bodies that pass validation, so the route gets as far as its lookup (404).
LOOKUP_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", ENDPOINTS + "/{endpoint_id}"): {"description": "probe"},
    ("POST", "/api/v1/webhooks/tests"): {"endpoint_id": PLACEHOLDERS["endpoint_id"]},
    ("POST", "/api/v1/refunds"): {"transaction_id": PLACEHOLDERS["transaction_id"]},
    ("PATCH", "/api/v1/payment-links/{link_id}"): {"title": "probe"},
    ("PATCH", CUSTOMERS + "/{customer_id}"): {"name": "probe"},
    ("PATCH", INVOICES + "/{invoice_id}"): {"notes": "probe"},
}
# Query parameters that pass validation, for routes that name their object by them.
LOOKUP_QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("DELETE", "/api/v1/fee-rules"): {"gateway": "sandbox"},
}


# ---- reading the document ------------------------------------------------------------------


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def facade(op: dict[str, Any]) -> bool:
    """A compatibility facade's operation: another product's envelope, checked by its own
    tests (tests/compat/), not by the checks of ours below."""
    return any(tag.startswith("Compatibility") for tag in op.get("tags", []))


def all_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for section in ("paths", "webhooks"):
        for path, item in spec.get(section, {}).items():
            for method, op in item.items():
                if method in HTTP_METHODS and not facade(op):
                    yield method.upper(), path, op


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The protected API operations (every /api/ one but the health check)."""
    return [(method.upper(), path, op) for path, ops in spec["paths"].items()
            if path.startswith("/api/") and path != "/api/v1/health"
            for method, op in ops.items() if not facade(op)]


def examples(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    media = response.get("content", {}).get("application/json", {})
    if "example" in media:
        return {"example": {"value": media["example"]}}
    found: dict[str, dict[str, Any]] = media.get("examples", {})
    return found


def documented_codes(op: dict[str, Any]) -> dict[str, set[str]]:
    """code -> the statuses under which an example of it is documented."""
    found: dict[str, set[str]] = {}
    for status, response in op["responses"].items():
        for example in examples(response).values():
            value = example["value"]
            if isinstance(value, dict) and value.get("error") is True:
                found.setdefault(value["code"], set()).add(status)
    return found


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def structural_problems(spec: dict[str, Any]) -> list[str]:
    """A hand-written structural check of an OpenAPI 3.1 document (see the module doc)."""
    problems: list[str] = []
    if not re.fullmatch(r"3\.1\.\d+", str(spec.get("openapi"))):
        problems.append(f"openapi is {spec.get('openapi')!r}, not 3.1.x")
    info = spec.get("info", {})
    if not isinstance(info.get("title"), str) or not isinstance(info.get("version"), str):
        problems.append("info needs a title and a version")
    schemes = spec.get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items():
        if scheme.get("type") not in {"apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"}:
            problems.append(f"security scheme {name}: bad type")
        if scheme.get("type") == "http" and not scheme.get("scheme"):
            problems.append(f"security scheme {name}: http needs a scheme")
    operation_ids: set[str] = set()
    for section in ("paths", "webhooks"):
        for path, item in spec.get(section, {}).items():
            allowed = HTTP_METHODS | {"parameters", "summary", "description", "servers", "$ref"}
            if set(item) - allowed:
                problems.append(f"{path}: unknown keys {set(item) - allowed}")
            if section == "paths" and not path.startswith("/"):
                problems.append(f"{path}: paths start with /")
            templated = set(re.findall(r"{([^}]+)}", path)) if section == "paths" else set()
            for method, op in item.items():
                if method in HTTP_METHODS:
                    problems += _operation_problems(f"{method.upper()} {path}", op, templated,
                                                    schemes, operation_ids)
    for ref in set(refs(spec)):
        node: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if not ref.startswith("#/") or node is None:
            problems.append(f"$ref {ref} does not resolve")
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        if not isinstance(schema, dict):
            problems.append(f"schema {name} is not an object")
    return problems


def _operation_problems(where: str, op: dict[str, Any], templated: set[str],
                        schemes: dict[str, Any], operation_ids: set[str]) -> list[str]:
    problems: list[str] = []
    op_id = str(op.get("operationId"))
    if op_id in operation_ids:
        problems.append(f"{where}: operationId {op_id} is not unique")
    operation_ids.add(op_id)
    params = op.get("parameters", [])
    seen = [(p.get("name"), p.get("in")) for p in params]
    if len(seen) != len(set(seen)):
        problems.append(f"{where}: duplicate parameters")
    for p in params:
        if p.get("in") not in {"query", "header", "path", "cookie"} or not p.get("name"):
            problems.append(f"{where}: bad parameter {p}")
        if p.get("in") == "path" and p.get("required") is not True:
            problems.append(f"{where}: path parameter {p['name']} must be required")
        if "schema" not in p and "content" not in p:
            problems.append(f"{where}: parameter {p.get('name')} has no schema")
    declared = {p["name"] for p in params if p.get("in") == "path"}
    if declared != templated:
        problems.append(f"{where}: path parameters {declared} != template {templated}")
    body = op.get("requestBody")
    if body is not None and not body.get("content"):
        problems.append(f"{where}: requestBody without content")
    responses = op.get("responses")
    if not isinstance(responses, dict) or not responses:
        return [*problems, f"{where}: no responses"]
    for status, response in responses.items():
        if not re.fullmatch(r"[1-5](\d\d|XX)|default", status):
            problems.append(f"{where}: bad response key {status}")
        if not isinstance(response.get("description"), str):
            problems.append(f"{where} {status}: a response needs a description")
        for media_type, media in response.get("content", {}).items():
            if set(media) - {"schema", "example", "examples", "encoding"}:
                problems.append(f"{where} {status} {media_type}: unknown keys")
            if "example" in media and "examples" in media:
                problems.append(f"{where} {status}: both example and examples")
            for name, example in media.get("examples", {}).items():
                if set(example) - {"summary", "description", "value", "externalValue"} or (
                        "value" not in example and "externalValue" not in example):
                    problems.append(f"{where} {status}: bad example {name}")
    for requirement in op.get("security", []):
        for name, scopes in requirement.items():
            if name not in schemes or not isinstance(scopes, list):
                problems.append(f"{where}: security requirement {name} is not declared")
    return problems


# ---- the document as a whole ---------------------------------------------------------------


async def test_document_is_structurally_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert structural_problems(spec) == []
    # The checker itself finds what it is meant to find.
    broken = {**spec, "openapi": "3.0.2", "paths": {"/x/{id}": {"get": {
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "example": 1, "examples": {}, "schema": {"$ref": "#/components/schemas/Nope"}}}},
            "2xx": {"description": "bad key"}},
        "security": [{"Nope": []}]}}}}
    found = "\n".join(structural_problems(broken))
    for expected in ("not 3.1.x", "template", "both example and examples", "bad response key",
                     "Nope does not resolve", "requirement Nope"):
        assert expected in found


async def test_no_operation_documents_422(spec: dict[str, Any]) -> None:
    listed = [f"{m} {p}" for m, p, op in all_operations(spec) if "422" in op["responses"]]
    assert listed == []
    assert not {"HTTPValidationError", "ValidationError"} & set(spec["components"]["schemas"])


async def test_every_error_code_and_the_envelope_are_in_the_description(
    spec: dict[str, Any]
) -> None:
    text = spec["info"]["description"]
    assert '"error": true' in text and "`errors`" in text and "`request_id`" in text
    raised = set()
    for source in SRC.rglob("*.py"):
        raised |= set(re.findall(r'\bcode\s*=\s*"([A-Z][A-Z0-9_]+)"', source.read_text()))
    raised |= {"METHOD_NOT_ALLOWED", "HTTP_ERROR"}  # errors.on_http_error's own table
    assert {"VALIDATION_ERROR", "DUPLICATE_PROVIDER_TRANSACTION", "INVALID_STATE"} <= raised
    undocumented = sorted(c for c in raised - NEVER_SENT if f"`{c}`" not in text)
    assert undocumented == []
    # Every code a documented operation can answer is shown on one, with its status.
    on_operations: dict[str, set[str]] = {}
    for _, _, op in operations(spec):
        for code, statuses in documented_codes(op).items():
            on_operations.setdefault(code, set()).update(statuses)
    assert {c: {str(s)} for c, s in STATUS_OF.items()} == on_operations


async def test_docs_page_is_served_from_vendored_assets(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text and "cdn" not in docs.text.lower()
    for asset in re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', docs.text):
        assert (await client.get(asset)).status_code == 200, asset
    assert "/docs-assets/swagger-ui-bundle.js" in docs.text


# ---- operations ----------------------------------------------------------------------------


async def test_create_intent_is_documented_with_the_specs_examples(spec: dict[str, Any]) -> None:
    op = spec["paths"][INTENTS]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["example"] == SPEC_EXAMPLE
    assert set(body["required"]) == {"gateway", "amount", "currency", "order_id",
                                     "customer_name", "customer_email", "return_url"}
    assert set(SPEC_EXAMPLE) <= set(body["properties"])
    created = op["responses"]["201"]["content"]["application/json"]
    assert created["example"] == SPEC_201
    # The spec's error examples come first: Swagger UI shows the first one.
    assert next(iter(examples(op["responses"]["400"]).values()))["value"] == SPEC_400
    assert next(iter(examples(op["responses"]["404"]).values()))["value"] == SPEC_404
    schema = resolve(spec, created["schema"])
    assert list(schema["properties"]) == list(SPEC_201)
    described = op["description"]
    missing = [code for code in CREATE_ERRORS if f"`{code}`" not in described]
    assert missing == [], f"error codes not documented on the create route: {missing}"
    header = {p["name"]: p for p in op["parameters"]}["Idempotency-Key"]
    assert "IDEMPOTENCY_KEY_REUSED" in header["description"]


async def test_every_operation_has_a_summary_a_description_and_a_tag(
    spec: dict[str, Any]
) -> None:
    bare = [f"{method} {path}" for method, path, op in all_operations(spec)
            if not op.get("summary") or not op.get("tags") or not op.get("description")]
    assert bare == []
    # Its own description: not only the authentication line the document adds.
    own = [f"{method} {path}" for method, path, op in operations(spec)
           if not op["description"].split("**Authentication:**")[0].strip()]
    assert own == []


async def test_every_protected_operation_declares_the_bearer_key_and_its_scope(
    spec: dict[str, Any]
) -> None:
    scheme = spec["components"]["securitySchemes"]["ApiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "op_test_" in scheme["bearerFormat"] and "op_live_" in scheme["bearerFormat"]
    assert "security" not in spec["paths"]["/api/v1/health"]["get"]
    by_route = {(r.method, r.path): sorted(r.scopes) for r in ROUTES}
    problems = []
    for method, path, op in operations(spec):
        scopes = by_route[(method, path)]
        if op.get("security") != [{"ApiKey": scopes}]:
            problems.append(f"{method} {path}: security {op.get('security')} != {scopes}")
        if not all(f"`{s}` scope" in op["description"] for s in scopes):
            problems.append(f"{method} {path}: the description does not name its scope")
    assert problems == []


async def test_every_protected_operation_documents_its_auth_errors(spec: dict[str, Any]) -> None:
    """401 and 403 (with the route's own scope), 429 and 500 in the error envelope,
    everywhere (429 was undocumented: schemathesis' first finding)."""
    envelope = spec["components"]["schemas"]["ErrorBody"]
    assert set(envelope["required"]) == {"error", "message", "code"}
    assert {"errors", "request_id"} <= set(envelope["properties"])
    by_route = {(r.method, r.path): sorted(r.scopes) for r in ROUTES}
    problems = []
    for method, path, op in operations(spec):
        for status in ("401", "403", "429", "500"):
            answer = op["responses"].get(status)
            if answer is None:
                problems.append(f"{method} {path}: no {status}")
                continue
            content = answer["content"]["application/json"]
            if resolve(spec, content["schema"]) is not envelope:
                problems.append(f"{method} {path}: {status} is not the error envelope")
        unauthenticated = {e["value"]["message"]
                           for e in examples(op["responses"]["401"]).values()}
        if len(unauthenticated) != 4:
            problems.append(f"{method} {path}: 401 should show missing/malformed/unknown/revoked")
        forbidden = [e["value"] for e in examples(op["responses"]["403"]).values()]
        expected = [{"error": True, "code": "INSUFFICIENT_SCOPE",
                     "message": f"This API key lacks the '{s}' scope."}
                    for s in by_route[(method, path)]]
        if forbidden != expected:
            problems.append(f"{method} {path}: 403 shows {forbidden}")
        limited = op["responses"]["429"]
        if set(limited.get("headers", {})) != {"Retry-After", "RateLimit-Limit",
                                               "RateLimit-Remaining", "RateLimit-Reset",
                                               "RateLimit-Policy"}:
            problems.append(f"{method} {path}: 429 without its headers")
        internal = [e["value"] for e in examples(op["responses"]["500"]).values()]
        if [set(v) for v in internal] != [{"error", "message", "code", "request_id"}]:
            problems.append(f"{method} {path}: 500 example {internal}")
    assert problems == []


async def test_links_lead_from_what_is_created_to_what_uses_it(
    spec: dict[str, Any], client: httpx.AsyncClient, merchant: MerchantKeys
) -> None:
    """Every link names a real operation and fills its path parameters; followed for real,
    an intent's link reaches the intent and its refund, the refund's link the refund."""
    by_id = {op["operationId"]: (method, path, op) for method, path, op in operations(spec)}
    links = {}
    for method, path, op in operations(spec):
        for status, answer in op["responses"].items():
            for name, link in answer.get("links", {}).items():
                links[name] = (method, path, status, link)
                to_method, to_path, _ = by_id[link["operationId"]]
                wanted = set(re.findall(r"{(\w+)}", to_path))
                assert set(link.get("parameters", {})) == wanted, name
                assert link.get("parameters") or link.get("requestBody"), name
    assert {"GetIntent", "RefundIntent", "GetRefund", "GetEndpoint", "GetDelivery"} <= set(links)

    def follow(name: str, answer: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
        _, _, _, link = links[name]
        to_method, to_path, _ = by_id[link["operationId"]]

        def value(expression: str) -> Any:
            assert expression.startswith("$response.body#/")
            return answer[expression.removeprefix("$response.body#/")]

        for param, expression in link.get("parameters", {}).items():
            to_path = to_path.replace(f"{{{param}}}", value(expression))
        body = {k: value(v) for k, v in link.get("requestBody", {}).items()} or None
        return to_method.upper(), to_path, body

    created = await client.post("/api/v1/payment-intents", json=intent_body(),
                                headers=merchant.auth())
    method, path, _ = follow("GetIntent", created.json())
    got = await client.request(method, path, headers=merchant.auth())
    assert got.status_code == 200 and got.json()["transaction_id"] == created.json()[
        "transaction_id"]
    txn = await paid(client, merchant)  # a paid intent: its create answer's transaction_id
    method, path, body = follow("RefundIntent", {"transaction_id": txn})
    refund = await client.request(method, path, json={**(body or {}), "amount": 1},
                                  headers=merchant.auth())
    assert refund.status_code == 201, refund.text
    method, path, _ = follow("GetRefund", refund.json())
    again = await client.request(method, path, headers=merchant.auth())
    assert again.status_code == 200 and again.json()["id"] == refund.json()["id"]


@pytest.mark.parametrize(("path", "allowed"), [
    ("/api/v1/refunds", "GET, POST"),
    ("/api/v1/fee-rules", "DELETE, GET, PUT"),
    ("/api/v1/webhook-endpoints", "GET, POST"),
    ("/api/v1/webhook-endpoints/we_0123456789abcdef01234567", "DELETE, GET, PATCH"),
])
async def test_a_405_lists_every_method_of_the_path(client: httpx.AsyncClient, path: str,
                                                   allowed: str) -> None:
    """Schemathesis' second finding: ``Allow`` named only the first route of the path."""
    r = await client.request("OPTIONS", path)
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"
    assert r.headers["allow"] == allowed


async def test_error_examples_name_only_codes_the_route_can_answer(spec: dict[str, Any]) -> None:
    problems = []
    for method, path, op in operations(spec):
        expected = CAN_ANSWER.get((method, path))
        if expected is None:
            problems.append(f"{method} {path}: a new route -- add what it can answer to "
                            "CAN_ANSWER")
            continue
        found = documented_codes(op)
        if set(found) != expected | PROTECTED:
            problems.append(f"{method} {path}: documents {sorted(found)}, can answer "
                            f"{sorted(expected | PROTECTED)}")
        for code, statuses in found.items():
            if statuses != {str(STATUS_OF.get(code))}:
                problems.append(f"{method} {path}: {code} shown under {sorted(statuses)}")
        for status, response in op["responses"].items():
            for name, example in examples(response).items():
                value = example["value"]
                if not status.startswith(("4", "5")):
                    continue
                if not (value.get("error") is True and value.get("message")
                        and value.get("code") and example.get("summary")):
                    problems.append(f"{method} {path} {status} {name}: not an envelope")
                if ("errors" in value) != (value.get("code") == "VALIDATION_ERROR"):
                    problems.append(f"{method} {path} {status} {name}: `errors` misplaced")
                if ("request_id" in value) != (value.get("code") == "INTERNAL_ERROR"):
                    problems.append(f"{method} {path} {status} {name}: `request_id` misplaced")
    assert problems == []


def _described(where: str, schema: dict[str, Any]) -> list[str]:
    return [f"{where}.{name}" for name, prop in schema.get("properties", {}).items()
            if not (isinstance(prop, dict) and prop.get("description"))]


async def test_every_field_and_parameter_is_described(spec: dict[str, Any]) -> None:
    bare: list[str] = []
    for name, schema in spec["components"]["schemas"].items():
        bare += _described(name, schema)
    for method, path, op in all_operations(spec):
        for media in op.get("requestBody", {}).get("content", {}).values():
            bare += _described(f"{method} {path} body", resolve(spec, media["schema"]))
        for p in op.get("parameters", []):
            if not p.get("description"):
                bare.append(f"{method} {path} parameter {p['name']}")
    assert bare == []


async def test_events_are_documented_and_the_event_enum_matches_the_service(
    spec: dict[str, Any]
) -> None:
    create = spec["paths"][ENDPOINTS]["post"]["requestBody"]["content"]["application/json"]
    enum = resolve(spec, create["schema"])["properties"]["events"]["items"]["enum"]
    assert set(enum) == {"*", *EVENT_TYPES} and "refund.failed" in enum
    sent = set(spec["webhooks"])
    assert {e for e in EVENT_TYPES if e != "link.visited"} | {"test.ping"} == sent
    refund_failed = spec["webhooks"]["refund.failed"]["post"]
    body = resolve(spec, refund_failed["requestBody"]["content"]["application/json"]["schema"])
    assert list(body["properties"]) == [
        "id", "event", "refund_id", "transaction_id", "order_id", "amount", "currency",
        "status", "reason", "gateway", "mode", "refunded_amount", "metadata", "created_at"]
    assert {p["name"] for p in refund_failed["parameters"]} >= {
        "X-OwnPay-Signature", "X-OwnPay-Timestamp", "X-OwnPay-Delivery", "X-OwnPay-Event"}


async def test_health_has_a_response_schema(spec: dict[str, Any], client: httpx.AsyncClient
                                            ) -> None:
    op = spec["paths"]["/api/v1/health"]["get"]
    schema = resolve(spec, op["responses"]["200"]["content"]["application/json"]["schema"])
    assert "503" in op["responses"]
    answer = (await client.get("/api/v1/health")).json()
    assert set(answer) == set(schema["properties"]) == set(schema["required"])
    assert answer["status"] in schema["properties"]["status"]["enum"]


# ---- the documented examples are what the API really answers --------------------------------


class Answers:
    """Compares real answers with the documented examples and remembers which were seen."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.seen: set[tuple[str, str, str]] = set()
        self.problems: list[str] = []

    def check(self, method: str, path: str, r: httpx.Response) -> None:
        op = self.spec["paths"][path][method.lower()]
        response = op["responses"].get(str(r.status_code))
        if response is None:
            self.problems.append(f"{method} {path}: undocumented {r.status_code} {r.text}")
            return
        for example in examples(response).values():
            if example["value"] == r.json():
                self.seen.add((method, path, example["summary"]))
                return
        self.problems.append(f"{method} {path}: {r.status_code} {r.text} is not documented")

    def unseen(self) -> list[str]:
        missing = []
        for method, path, op in operations(self.spec):
            for status, response in op["responses"].items():
                for example in examples(response).values():
                    key = (method, path, example.get("summary", ""))
                    if status.startswith("4") and key not in self.seen and key not in UNPROVOKED:
                        missing.append(f"{method} {path} {status}: {key[2]}")
        return missing


async def _keys(ctx: AppContext, merchant: MerchantKeys) -> tuple[dict[str, str], str]:
    """Test-mode keys lacking one scope each, and a revoked key."""
    lacking: dict[str, str] = {}
    async with ctx.sessions() as s, s.begin():
        row = await merchants.get_merchant(s, merchant.slug)
        for scope in SCOPES:
            others = tuple(x for x in SCOPES if x != scope)
            lacking[scope] = (await merchants.create_api_key(
                s, merchant=row, mode="test", scopes=others)).api_key
        revoked = await merchants.create_api_key(s, merchant=row, mode="test")
        await merchants.revoke_api_key(s, key_id=revoked.id)
    ctx.api_keys.invalidate()
    return lacking, revoked.api_key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_every_documented_error_example_is_a_real_answer(
    client: httpx.AsyncClient, ctx: AppContext, spec: dict[str, Any]
) -> None:
    answers = Answers(spec)
    m = await create_merchant(ctx)
    lacking, revoked = await _keys(ctx, m)
    unknown = "op_test_" + secrets.token_hex(20)
    by_route = {(r.method, r.path): sorted(r.scopes) for r in ROUTES}

    async def call(method: str, path: str, *, values: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        url = path.format(**(values or PLACEHOLDERS))
        return await client.request(method, url, headers=m.auth() if headers is None else headers,
                                    **kw)

    async def check(method: str, path: str, **kw: Any) -> httpx.Response:
        r = await call(method, path, **kw)
        answers.check(method, path, r)
        return r

    # Generic answers, every operation: auth, scope, content type, size, JSON, lookup.
    for method, path, op in operations(spec):
        codes = documented_codes(op)
        for headers in ({}, {"Authorization": "Bearer sk_live_abc"}, bearer(unknown),
                        bearer(revoked)):
            await check(method, path, headers=headers)
        for scope in by_route[(method, path)]:
            await check(method, path, headers=bearer(lacking[scope]))
        if "UNSUPPORTED_MEDIA_TYPE" in codes:
            await check(method, path, content=b"{}", headers={**m.auth(),
                                                            "Content-Type": "text/plain"})
        if "PAYLOAD_TOO_LARGE" in codes:
            await check(method, path, content=b"{" + b" " * 70_000 + b"}",
                        headers={**m.auth(), "Content-Type": "application/json"})
        if "INVALID_JSON" in codes:
            for raw in (b"{nope", b"[]"):
                await check(method, path, content=raw,
                            headers={**m.auth(), "Content-Type": "application/json"})
        if "NOT_FOUND" in codes:
            body = LOOKUP_BODIES.get((method, path))
            query = LOOKUP_QUERIES.get((method, path))
            await check(method, path, **({"json": body} if body is not None else {}),
                        **({"params": query} if query is not None else {}))

    # Validation errors, with the documented texts.
    live: dict[str, Any] = {"headers": m.auth("live")}
    validation: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", INTENTS, {"json": {k: v for k, v in {**SPEC_EXAMPLE, "gateway": "sandbox",
                                                      "currency": "ZZZ"}.items()
                                    if k != "amount"}}),
        ("POST", INTENTS, {"json": intent_body(), "headers": {**m.auth(),
                                                              "Idempotency-Key": "k" * 256}}),
        ("POST", "/api/v1/refunds", {"json": {"amount": "x", "reason": 3}}),
        ("POST", "/api/v1/refunds", {"json": {"transaction_id": "txn_x"},
                                     "headers": {**m.auth(), "Idempotency-Key": "k" * 256}}),
        ("GET", "/api/v1/refunds", {"params": {"limit": 500, "status": "x"}}),
        ("GET", "/api/v1/refunds", {"params": {"created_from": "yesterday"}}),
        ("GET", "/api/v1/refunds", {"params": {"starting_after": "rf_0000000000000000"}}),
        ("POST", ENDPOINTS, {"json": {"url": "ftp://x", "events": ["payment.done"],
                                      "enable": False}}),
        ("POST", ENDPOINTS, {"json": {"url": "http://shop.example/x"}, **live}),
        ("PATCH", ENDPOINTS + "/{endpoint_id}", {"json": {}}),
        ("PATCH", ENDPOINTS + "/{endpoint_id}", {"json": {"url": "http://shop.example/x"},
                                                 **live}),
        ("GET", DELIVERIES, {"params": {"limit": 0, "status": "nope"}}),
        ("GET", DELIVERIES, {"params": {"starting_after": "dlv_x"}}),
        ("POST", "/api/v1/webhooks/tests", {"json": {}}),
        ("PUT", "/api/v1/fee-rules", {"json": {"gateway": "nope", "percent": 200,
                                               "flat": 0.3}}),
        ("DELETE", "/api/v1/fee-rules", {"params": {"gateway": "nope", "currency": "ZZZ"}}),
        ("DELETE", "/api/v1/fee-rules", {}),
        ("GET", "/api/v1/sms/messages", {"params": {"status": "x", "limit": "0"}}),
    ] + [
        (method, path, kw) for path in (TRANSACTIONS, TRANSACTIONS + "/export") for method, kw in (
            ("GET", {"params": {"status": "paid", "amount_min": "1"}}),
            ("GET", {"params": {"stauts": "completed"}}),
        )
    ] + [
        ("GET", TRANSACTIONS, {"params": {"limit": 500}}),
        ("GET", TRANSACTIONS, {"params": {"cursor": "not-ours"}}),
    ] + [
        ("POST", path, {"json": {"reason": 5}}) for path in (
            INTENTS + "/{transaction_id}/cancel", INTENTS + "/{transaction_id}/approve",
            INTENTS + "/{transaction_id}/reject", "/api/v1/refunds/{refund_id}/confirm",
            "/api/v1/refunds/{refund_id}/fail", "/api/v1/sms/pairing-codes",
            "/api/v1/sms/devices/{device_id}/revoke", INVOICES + "/{invoice_id}/finalize",
            INVOICES + "/{invoice_id}/void", INVOICES + "/{invoice_id}/mark-uncollectible")
    ]
    for method, path, kw in validation:
        r = await check(method, path, **kw)
        assert r.status_code == 400, r.text

    # Payment links: every bad field, a taken slug, changes refused, an unknown cursor.
    links = "/api/v1/payment-links"
    r = await check("POST", links, json={"currency": "USD", "amount": "5", "min_amount": "1",
                                         "gateways": ["paypal"]})
    assert r.status_code == 400, r.text
    slug = f"probe-{secrets.token_hex(4)}"
    made = await call("POST", links, json={"title": "A", "currency": "USD", "amount": "1",
                                           "slug": slug})
    assert made.status_code == 201, made.text
    r = await check("POST", links, json={"title": "B", "currency": "USD", "amount": "1",
                                         "slug": slug})
    assert r.status_code == 400, r.text
    for body in ({}, {"currency": "EUR"}):
        r = await check("PATCH", links + "/{link_id}", values={"link_id": made.json()["id"]},
                        json=body)
        assert r.status_code == 400, r.text
    r = await check("GET", links, params={"starting_after": "plink_x"})
    assert r.status_code == 400, r.text

    # Domains: not a host name, one in use, an unknown field; primary before verified.
    domains = "/api/v1/domains"
    name = f"probe-{secrets.token_hex(4)}.example"
    for body in ({"domain": "203.0.113.9"}, {"domain": "pay.example.com", "colour": "red"}):
        r = await check("POST", domains, json=body)
        assert r.status_code == 400, r.text
    added = await call("POST", domains, json={"domain": name})
    assert added.status_code == 201, added.text
    r = await check("POST", domains, json={"domain": name})
    assert r.status_code == 400, r.text
    r = await check("POST", domains + "/{domain_id}/primary",
                    values={"domain_id": added.json()["id"]})
    assert r.status_code == 409, r.text
    # Customers: every bad field, a taken e-mail, nothing given, the key's header, replays,
    # changes refused, a forgotten customer, unknown cursors and a bad phone filter.
    email = f"probe-{secrets.token_hex(4)}@example.com"
    for kw in ({"json": {"email": "not-an-email", "phone": "12", "nickname": "A"}},
               {"json": {}},
               {"json": {"email": "x@example.com"},
                "headers": {**m.auth(), "Idempotency-Key": "k" * 256}}):
        r = await check("POST", CUSTOMERS, **kw)
        assert r.status_code == 400, r.text
    key = {**m.auth(), "Idempotency-Key": secrets.token_hex(8)}
    made = await call("POST", CUSTOMERS, json={"email": email}, headers=key)
    assert made.status_code == 201, made.text
    r = await check("POST", CUSTOMERS, json={"email": "other@example.com"}, headers=key)
    assert r.status_code == 409, r.text
    r = await check("POST", CUSTOMERS, json={"email": email.upper()})
    assert r.status_code == 400, r.text
    other = await call("POST", CUSTOMERS, json={"name": "Other"})
    customer = {"customer_id": other.json()["id"]}
    for body in ({}, {"email": email}):
        r = await check("PATCH", CUSTOMERS + "/{customer_id}", values=customer, json=body)
        assert r.status_code == 400, r.text
    assert (await call("POST", CUSTOMERS + "/{customer_id}/forget",
                       values=customer)).status_code == 200
    r = await check("PATCH", CUSTOMERS + "/{customer_id}", values=customer,
                    json={"name": "X"})
    assert r.status_code == 409, r.text
    for params in ({"starting_after": "cus_x"}, {"phone": "12"}):
        r = await check("GET", CUSTOMERS, params=params)
        assert r.status_code == 400, r.text
    r = await check("GET", CUSTOMERS + "/{customer_id}/payments", values=customer,
                    params={"starting_after": "txn_x"})
    assert r.status_code == 400, r.text

    # Invoices: every bad field, too large a discount, the key's header, replays, changes
    # and moves refused by status, a total of 0, an unknown cursor.
    tea = [{"description": "Tea", "unit_price": "10"}]
    for kw in ({"json": {"currency": "XYZ", "due_date": "tomorrow", "lines": [
                    {"description": "Tea", "quantity": "1.2345", "unit_price": "1"}]}},
               {"json": {"currency": "USD", "lines": tea, "discount_amount": "10.01"}},
               {"json": {"currency": "USD", "lines": tea},
                "headers": {**m.auth(), "Idempotency-Key": "k" * 256}}):
        r = await check("POST", INVOICES, **kw)
        assert r.status_code == 400, r.text
    key = {**m.auth(), "Idempotency-Key": secrets.token_hex(8)}
    draft = await call("POST", INVOICES, json={"currency": "USD", "lines": tea}, headers=key)
    assert draft.status_code == 201, draft.text
    r = await check("POST", INVOICES, json={"currency": "USD", "lines": tea, "notes": "x"},
                    headers=key)
    assert r.status_code == 409, r.text
    invoice = {"invoice_id": draft.json()["id"]}
    for body in ({}, {"currency": "EUR"}):
        r = await check("PATCH", INVOICES + "/{invoice_id}", values=invoice, json=body)
        assert r.status_code == 400, r.text
    for action in ("void", "mark-uncollectible"):
        r = await check("POST", INVOICES + "/{invoice_id}/" + action, values=invoice)
        assert r.status_code == 409, r.text
    assert (await call("POST", INVOICES + "/{invoice_id}/finalize",
                       values=invoice)).status_code == 200
    r = await check("POST", INVOICES + "/{invoice_id}/finalize", values=invoice)
    assert r.status_code == 409, r.text
    r = await check("PATCH", INVOICES + "/{invoice_id}", values=invoice, json={"notes": "x"})
    assert r.status_code == 409, r.text
    free = await call("POST", INVOICES, json={"currency": "USD", "lines": tea,
                                              "discount_rate": "100"})
    r = await check("POST", INVOICES + "/{invoice_id}/finalize",
                    values={"invoice_id": free.json()["id"]})
    assert r.status_code == 409, r.text
    r = await check("GET", INVOICES, params={"starting_after": "inv_x"})
    assert r.status_code == 400, r.text

    # Conflicts and the gateway, from real states.
    r = await check("POST", INTENTS, json=intent_body(gateway="stripe"))
    assert r.status_code == 404
    txn = await paid(client, m, "99.99", order_id="ORDER-001")
    r = await check("POST", INTENTS, json=intent_body(order_id="ORDER-001"))
    assert r.status_code == 409
    key = {**m.auth(), "Idempotency-Key": secrets.token_hex(8)}
    assert (await call("POST", INTENTS, json=intent_body(), headers=key)).status_code == 201
    assert (await check("POST", INTENTS, json=intent_body(), headers=key)).status_code == 409
    values = {"transaction_id": txn}
    for action in ("cancel", "approve", "reject"):
        r = await check("POST", INTENTS + "/{transaction_id}/" + action, values=values)
        assert r.status_code == 409
    pending = (await call("POST", INTENTS, json=intent_body())).json()["transaction_id"]
    r = await check("POST", "/api/v1/refunds", json={"transaction_id": pending})
    assert r.status_code == 409
    first = await call("POST", "/api/v1/refunds", json={"transaction_id": txn, "amount": 25.5})
    assert first.status_code == 201
    r = await check("POST", "/api/v1/refunds", json={"transaction_id": txn, "amount": 500})
    assert r.status_code == 400
    for action in ("confirm", "fail"):
        r = await check("POST", "/api/v1/refunds/{refund_id}/" + action,
                        values={"refund_id": first.json()["id"]})
        assert r.status_code == 409
    assert (await call("POST", "/api/v1/refunds", json={"transaction_id": txn})).is_success
    r = await check("POST", "/api/v1/refunds", json={"transaction_id": txn})
    assert r.status_code == 409
    key = {**m.auth(), "Idempotency-Key": secrets.token_hex(8)}
    other = await paid(client, m, "10.00")
    assert (await call("POST", "/api/v1/refunds", json={"transaction_id": other, "amount": 1},
                       headers=key)).status_code == 201
    r = await check("POST", "/api/v1/refunds", json={"transaction_id": other, "amount": 2},
                    headers=key)
    assert r.status_code == 409

    # A delivery whose endpoint is disabled, then deleted.
    delivery = await make_delivery(client, ctx, m)
    endpoint = (await call("GET", DELIVERIES + "/{delivery_id}",
                           values={"delivery_id": delivery})).json()["endpoint_id"]
    ids = {"delivery_id": delivery, "endpoint_id": endpoint}
    await call("PATCH", ENDPOINTS + "/{endpoint_id}", values=ids, json={"enabled": False})
    r = await check("POST", DELIVERIES + "/{delivery_id}/retry", values=ids)
    assert r.status_code == 409
    await call("DELETE", ENDPOINTS + "/{endpoint_id}", values=ids)
    r = await check("POST", DELIVERIES + "/{delivery_id}/retry", values=ids)
    assert r.status_code == 409

    # The endpoint limit, on a merchant of its own.
    crowded = await create_merchant(ctx)
    for _ in range(16):
        made = await call("POST", ENDPOINTS, headers=crowded.auth(),
                          json={"url": "http://127.0.0.1:9/hooks"})
        assert made.status_code == 201, made.text
    r = await check("POST", ENDPOINTS, headers=crowded.auth(),
                    json={"url": "http://127.0.0.1:9/hooks"})
    assert r.status_code == 409

    # 429 on every protected operation: a server whose key limit is one request an hour.
    limited = AppContext.create(dataclasses.replace(ctx.settings, rate_limit_api_key="1/hour"))
    try:
        tight = create_app(limited.settings, ctx=limited)
        transport = httpx.ASGITransport(app=tight)
        async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
            first = True
            for method, path, _ in operations(spec):
                if not by_route[(method, path)]:
                    continue
                r = await c.request(method, path.format(**PLACEHOLDERS), headers=m.auth())
                if first:  # the key's one request of the hour
                    first = False
                    r = await c.request(method, path.format(**PLACEHOLDERS), headers=m.auth())
                assert r.status_code == 429, (method, path, r.text)
                assert int(r.headers["retry-after"]) >= 1 and r.headers["ratelimit-limit"] == "1"
                answers.check(method, path, r)
    finally:
        await limited.close()

    assert answers.problems == []
    assert answers.unseen() == [], "documented examples no request produced (or list the "\
        "reason in UNPROVOKED)"


async def test_internal_error_example_matches_a_real_500(ctx: AppContext,
                                                         spec: dict[str, Any]) -> None:
    app = create_app(ctx.settings, ctx=ctx)

    async def boom() -> None:
        raise RuntimeError("an unexpected failure")

    app.add_api_route("/api/v1/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://pay.test") as c:
        r = await c.get("/api/v1/boom")
    assert r.status_code == 500
    documented = next(iter(examples(spec["paths"][INTENTS]["post"]["responses"]["500"])
                           .values()))["value"]
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"]
    assert {**body, "request_id": "x"} == {**documented, "request_id": "x"}
    assert "an unexpected failure" not in r.text
