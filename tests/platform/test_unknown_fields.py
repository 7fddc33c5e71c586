"""One rule for every JSON request body of the API (issue 19, item 7): a field the operation
does not know is a ``VALIDATION_ERROR`` naming it, and nothing happens.  ``/docs`` says so
with ``additionalProperties: false`` on every request body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.support.factories import (
    MerchantKeys,
    intent_body,
    make_endpoint,
    make_intent,
    make_refund,
)

Maker = Callable[[Any, Any, MerchantKeys], Awaitable[tuple[str, str, dict[str, Any]]]]


async def _create_intent(client, ctx, owner):
    return "POST", "/api/v1/payment-intents", intent_body()


async def _cancel(client, ctx, owner):
    txn = await make_intent(client, ctx, owner)
    return "POST", f"/api/v1/payment-intents/{txn}/cancel", {"reason": "customer asked"}


async def _refund(client, ctx, owner):
    refund = await make_refund(client, ctx, owner)
    got = await client.get(f"/api/v1/refunds/{refund}", headers=owner.auth())
    txn = got.json()["transaction_id"]
    return "POST", "/api/v1/refunds", {"transaction_id": txn, "amount": "1.00"}


async def _fee_rule(client, ctx, owner):
    return "PUT", "/api/v1/fee-rules", {"gateway": "sandbox", "currency": "USD", "percent": 2}


async def _endpoint(client, ctx, owner):
    return "POST", "/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks"}


async def _endpoint_update(client, ctx, owner):
    endpoint = await make_endpoint(client, ctx, owner)
    return "PATCH", f"/api/v1/webhook-endpoints/{endpoint}", {"description": "main"}


async def _ping(client, ctx, owner):
    endpoint = await make_endpoint(client, ctx, owner)
    return "POST", "/api/v1/webhooks/tests", {"endpoint_id": endpoint}


@pytest.mark.parametrize("maker", [_create_intent, _cancel, _refund, _fee_rule, _endpoint,
                                   _endpoint_update, _ping])
async def test_an_unknown_field_is_refused_and_changes_nothing(
    client, ctx, merchant: MerchantKeys, maker: Maker
) -> None:
    method, path, body = await maker(client, ctx, merchant)
    before = await _state(client, merchant)
    r = await client.request(method, path, json={**body, "bogus_field": 1},
                             headers=merchant.auth())
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert r.json()["errors"] == {"bogus_field": ["Unknown field."]}
    assert await _state(client, merchant) == before
    # The same body without the stray field is accepted: the refusal was about it alone.
    ok = await client.request(method, path, json=body, headers=merchant.auth())
    assert ok.status_code < 300, ok.text


async def _state(client, owner: MerchantKeys) -> list[Any]:
    """Everything these operations could change, as the API shows it."""
    seen = []
    for path in ("/api/v1/transactions", "/api/v1/refunds", "/api/v1/fee-rules",
                 "/api/v1/webhook-endpoints"):
        r = await client.get(path, headers=owner.auth())
        assert r.status_code == 200, (path, r.text)
        seen.append(r.json())
    return seen


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


async def test_every_documented_request_body_forbids_unknown_fields(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    bodies = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content or not path.startswith("/api/"):
                continue
            if any(tag.startswith("Compatibility") for tag in op.get("tags", [])):
                continue  # another product's API: its clients send fields it ignores
            bodies += 1
            schema = _resolve(spec, content["application/json"]["schema"])
            assert schema.get("additionalProperties") is False, f"{method.upper()} {path}"
    assert bodies >= 7
