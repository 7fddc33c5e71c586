"""Finding 7 of issue 16: check-then-insert races.  Concurrent ``PUT /fee-rules`` of one
rule never answer 500, and concurrent endpoint creations never exceed the limit (the
concurrency that could break it exists on PostgreSQL; SQLite runs the same requests)."""

from __future__ import annotations

import asyncio

import pytest

from ownpay.errors import EndpointLimitReached
from tests.support.factories import MerchantKeys


@pytest.mark.parametrize("burst", [12])
async def test_concurrent_fee_rule_writes_all_succeed(client, merchant: MerchantKeys,
                                                      burst: int) -> None:
    for _ in range(4):
        answers = await asyncio.gather(*(
            client.put("/api/v1/fee-rules", headers=merchant.auth(),
                       json={"gateway": "sandbox", "currency": "USD", "percent": str(n)})
            for n in range(1, burst + 1)))
        assert [a.status_code for a in answers] == [200] * burst, [a.text for a in answers]
    rules = (await client.get("/api/v1/fee-rules", headers=merchant.auth())).json()["data"]
    assert len(rules) == 1


async def test_concurrent_endpoint_creation_respects_the_limit(
    client, merchant: MerchantKeys
) -> None:
    limit = EndpointLimitReached.limit
    answers = await asyncio.gather(*(
        client.post("/api/v1/webhook-endpoints", headers=merchant.auth(),
                    json={"url": f"http://127.0.0.1:9/hook{n}"})
        for n in range(limit + 6)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * limit + [409] * 6, [a.text for a in answers if a.status_code >= 500]
    listed = await client.get("/api/v1/webhook-endpoints", headers=merchant.auth())
    assert len(listed.json()["data"]) == limit
