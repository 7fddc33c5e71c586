"""The OpenAPI document lists each facade's routes under that facade's own tag, and no
facade route under one of ours (so a reader of /docs sees which API a route belongs to)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.api

EXPECTED = {
    "Compatibility: OwnPay merchant API": {("post", "/api/v1/payments"),
                                           ("get", "/api/v1/payments/{payment_id}")},
    "Compatibility: UddoktaPay": {("post", "/api/checkout-v2"),
                                  ("post", "/api/checkout-v2/global"),
                                  ("post", "/api/verify-payment"),
                                  ("post", "/api/refund-payment")},
    "Compatibility: PipraPay": {("post", "/api/create-charge"),
                                ("post", "/api/verify-payments")},
}


async def test_each_facade_has_its_own_tag(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    tagged: dict[str, set[tuple[str, str]]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "tags" not in op:
                continue
            for tag in op["tags"]:
                if tag.startswith("Compatibility"):
                    tagged.setdefault(tag, set()).add((method, path))
                    assert len(op["tags"]) == 1, (method, path, op["tags"])
    assert tagged == EXPECTED
