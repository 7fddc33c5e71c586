"""A refunded payment's link shows what happened to the money, and offers no way to pay."""

from __future__ import annotations

import re

from tests.support.factories import MerchantKeys, intent_body

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def test_partly_then_fully_refunded_pages(client, merchant: MerchantKeys) -> None:
    r = await client.post("/api/v1/payment-intents", json=intent_body(amount="50.00"),
                          headers=merchant.auth())
    txn = r.json()["transaction_id"]
    page = await client.get(f"/checkout/{txn}")
    token = CSRF.search(page.text)
    assert token
    paid = await client.post(f"/checkout/{txn}/pay",
                             data={"csrf_token": token.group(1), "outcome": "succeed"})
    assert paid.status_code == 303

    part = await client.post("/api/v1/refunds", json={"transaction_id": txn, "amount": "20.00"},
                             headers=merchant.auth())
    assert part.status_code == 201, part.text
    html = (await client.get(f"/checkout/{txn}")).text
    assert "<title>Payment partly refunded" in html and "refunded part of it" in html
    assert 'value="succeed"' not in html and f"/checkout/{txn}/pay" not in html

    rest = await client.post("/api/v1/refunds", json={"transaction_id": txn},
                             headers=merchant.auth())
    assert rest.status_code == 201, rest.text
    html = (await client.get(f"/checkout/{txn}")).text
    assert "<title>Payment refunded" in html and "has since refunded it." in html
    assert f"/checkout/{txn}/pay" not in html
