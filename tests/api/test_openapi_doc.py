"""The OpenAPI document at ``/openapi.json`` carries the spec's contract: its fields, its
examples verbatim, and every error code, for every route (new routes included)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items()
            if path.startswith("/api/") and path != "/api/v1/health"
            for method, op in ops.items()]


async def test_create_intent_is_documented_with_the_specs_examples(spec: dict[str, Any]) -> None:
    op = spec["paths"]["/api/v1/payment-intents"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["example"] == SPEC_EXAMPLE
    assert set(body["required"]) == {"gateway", "amount", "currency", "order_id",
                                     "customer_name", "customer_email", "return_url"}
    assert set(SPEC_EXAMPLE) <= set(body["properties"])
    assert op["responses"]["400"]["content"]["application/json"]["example"] == SPEC_400
    assert op["responses"]["404"]["content"]["application/json"]["example"] == SPEC_404
    created = resolve(spec, op["responses"]["201"]["content"]["application/json"]["schema"])
    assert list(created["properties"]) == [
        "success", "transaction_id", "payment_url", "status", "expires_at"]
    described = op["description"]
    missing = [code for code in CREATE_ERRORS if f"`{code}`" not in described]
    assert missing == [], f"error codes not documented on the create route: {missing}"
    header = {p["name"]: p for p in op["parameters"]}["Idempotency-Key"]
    assert "IDEMPOTENCY_KEY_REUSED" in header["description"]


async def test_every_protected_operation_documents_its_auth_errors(spec: dict[str, Any]) -> None:
    """401 and 403 in the error envelope, with an example of the right code, everywhere."""
    problems = []
    for method, path, op in operations(spec):
        for status, code in (("401", "UNAUTHENTICATED"), ("403", "INSUFFICIENT_SCOPE")):
            answer = op["responses"].get(status)
            if answer is None:
                problems.append(f"{method} {path}: no {status}")
                continue
            content = answer["content"]["application/json"]
            if set(content["schema"].get("required", ())) != {"error", "message", "code"}:
                problems.append(f"{method} {path}: {status} is not the error envelope")
            if content.get("example", {}).get("code") != code:
                problems.append(f"{method} {path}: {status} example is not {code}")
    assert problems == []


async def test_every_operation_has_a_summary_and_a_tag(spec: dict[str, Any]) -> None:
    bare = [f"{method} {path}" for method, path, op in operations(spec)
            if not op.get("summary") or not op.get("tags")]
    assert bare == []
