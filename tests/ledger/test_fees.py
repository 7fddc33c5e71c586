"""Fee rules: the rounding rule, min/max and the cap, rule lookup, the API, and the fee and
net stored on the payment when it completes."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ownpay import jsoncodec
from ownpay.db import utcnow
from ownpay.ledger import fees
from ownpay.ledger.models import FeeRule
from tests.support.checkout import new_intent, paid, payment
from tests.support.factories import create_merchant, extra_key


def rule(flat: int = 0, ppm: int = 0, lo: int | None = None, hi: int | None = None) -> FeeRule:
    now = utcnow()
    return FeeRule(merchant_id=0, mode="test", gateway="sandbox", currency="USD", flat_minor=flat,
                   rate_ppm=ppm, min_minor=lo, max_minor=hi, created_at=now, updated_at=now)


@pytest.mark.parametrize(
    ("amount", "r", "fee"),
    [
        (1050, rule(ppm=29000), 30),  # 2.9 % of 10.50 = 30.45 cents: down
        (1550, rule(ppm=29000), 45),  # 44.95 cents: half up
        (5, rule(ppm=100000), 1),  # 0.5 cent: half up, not to even
        (4, rule(ppm=100000), 0),
        (9999, rule(flat=30, ppm=29000), 320),  # 0.30 + 289.971 cents
        (1000, rule(ppm=10000, lo=50), 50),  # minimum
        (5000, rule(ppm=100000, hi=100), 100),  # maximum
        (300, rule(flat=500), 300),  # never more than the amount
        (1000, None, 0),  # no rule, no fee
    ],
)
def test_rounding_rule_and_bounds(amount: int, r: FeeRule | None, fee: int) -> None:
    assert fees.compute_fee(r, amount) == fee


@given(amount=st.integers(1, 10**12), ppm=st.integers(0, 1_000_000))
def test_percentage_is_the_exact_value_rounded_half_up(amount: int, ppm: int) -> None:
    exact = Decimal(amount) * Decimal(ppm) / Decimal(1_000_000)
    assert fees.percentage_minor(amount, ppm) == int(exact.quantize(Decimal(1), ROUND_HALF_UP))
    assert 0 <= fees.compute_fee(rule(flat=7, ppm=ppm, lo=3, hi=10**9), amount) <= amount


def test_percent_is_a_json_number_with_exactly_its_decimals() -> None:
    """Every storable rate (0 … 100 % in steps of 0.0001) is written as the JSON number of
    exactly that decimal: no float rounding (2.9, never 2.8999999999999999)."""
    assert [fees.percent_number(p) for p in (29000, 1, 1_000_000, 0)] == [2.9, 0.0001, 100, 0]
    for ppm in range(fees.PPM + 1):
        written = jsoncodec.dumps(fees.percent_number(ppm)).decode()
        assert Decimal(written) == Decimal(ppm).scaleb(-4), (ppm, written)


async def test_fee_rules_api(client, ctx, merchant) -> None:
    r = await client.put("/api/v1/fee-rules", json={
        "gateway": "sandbox", "currency": "usd", "flat": 0.30, "percent": "2.9", "min": "0.50",
        "max": 20}, headers=merchant.auth())
    assert r.status_code == 200, r.text
    assert {k: v for k, v in r.json().items() if k != "updated_at"} == {
        "gateway": "sandbox", "mode": "test", "currency": "USD", "flat": 0.3, "percent": 2.9,
        "min": 0.5, "max": 20}
    # Numbers, all four, as written: the same shape the request takes.
    assert b'"flat":0.3,"percent":2.9,"min":0.5,"max":20' in r.content
    r = await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "percent": 1},
                         headers=merchant.auth())
    assert r.status_code == 200 and r.json()["currency"] is None
    listed = (await client.get("/api/v1/fee-rules", headers=merchant.auth())).json()["data"]
    assert [(x["currency"], x["percent"]) for x in listed] == [(None, 1), ("USD", 2.9)]
    # replacing keeps one rule per gateway and currency
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "currency": "USD",
                                                "percent": 3}, headers=merchant.auth())
    listed = (await client.get("/api/v1/fee-rules", headers=merchant.auth())).json()["data"]
    assert [(x["currency"], x["percent"], x["flat"]) for x in listed] == [
        (None, 1, 0), ("USD", 3, 0)]
    assert (await client.get("/api/v1/fee-rules", headers=merchant.auth("live"))).json() == {
        "data": []}


async def test_a_fee_rule_is_removed_and_payments_fall_back(client, ctx) -> None:
    m = await create_merchant(ctx)
    for body in ({"gateway": "sandbox", "percent": 1},
                 {"gateway": "sandbox", "currency": "USD", "percent": 2}):
        assert (await client.put("/api/v1/fee-rules", json=body,
                                 headers=m.auth())).status_code == 200
    before = await paid(client, m, "100.00")
    r = await client.delete("/api/v1/fee-rules", params={"gateway": "sandbox",
                                                         "currency": "usd"}, headers=m.auth())
    assert r.status_code == 200, r.text
    assert (r.json()["currency"], r.json()["percent"]) == ("USD", 2)
    listed = (await client.get("/api/v1/fee-rules", headers=m.auth())).json()["data"]
    assert [(x["currency"], x["percent"]) for x in listed] == [(None, 1)]
    after = await paid(client, m, "100.00")
    assert (await payment(client, m, before))["fee"] == 2  # kept
    assert (await payment(client, m, after))["fee"] == 1  # the any-currency rule now
    again = await client.delete("/api/v1/fee-rules", params={"gateway": "sandbox",
                                                             "currency": "USD"}, headers=m.auth())
    assert again.status_code == 404 and again.json()["code"] == "NOT_FOUND"
    # the other mode's rule and another merchant's are not this key's to remove
    other = await create_merchant(ctx)
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "percent": 5},
                     headers=other.auth())
    assert (await client.delete("/api/v1/fee-rules", params={"gateway": "sandbox"},
                                headers=m.auth("live"))).status_code == 404
    assert (await client.delete("/api/v1/fee-rules", params={"gateway": "sandbox"},
                                headers=m.auth())).status_code == 200
    assert [x["percent"] for x in (await client.get(
        "/api/v1/fee-rules", headers=other.auth())).json()["data"]] == [5]
    bad = await client.delete("/api/v1/fee-rules", params={"gateway": "nope", "currency": "ZZZ",
                                                           "percnt": "1"}, headers=m.auth())
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"gateway", "currency",
                                                                    "percnt"}
    writer = await extra_key(ctx, m, ("read", "write"))
    assert (await client.delete("/api/v1/fee-rules", params={"gateway": "sandbox"},
                                headers=writer)).status_code == 403
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "percent": 1},
                     headers=m.auth())
    for query in ("gateway=sand%00box", "gateway=%ED%A0%80", "gateway=" + "x" * 5000,
                  "gateway=sandbox&currency=US%00D", "gateway=sandbox&currency=%F0%9F%92%B0"):
        hostile = await client.delete(f"/api/v1/fee-rules?{query}", headers=m.auth())
        assert hostile.status_code == 400, (query, hostile.text)
    assert len((await client.get("/api/v1/fee-rules", headers=m.auth())).json()["data"]) == 1


async def test_fee_rule_validation_reports_every_field(client, ctx, merchant) -> None:
    r = await client.put("/api/v1/fee-rules", json={
        "gateway": "nope", "flat": "0.30", "percent": "101", "min": "-1"}, headers=merchant.auth())
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
    assert set(r.json()["errors"]) == {"gateway", "flat", "percent", "min"}
    assert "give a currency" in r.json()["errors"]["flat"][0]
    r = await client.put("/api/v1/fee-rules", json={
        "gateway": "sandbox", "currency": "USD", "percent": "2.12345", "min": 5, "max": 1,
        "flat": "0.001"}, headers=merchant.auth())
    assert set(r.json()["errors"]) == {"percent", "max", "flat"}
    assert (await client.get("/api/v1/fee-rules", headers=merchant.auth())).json()["data"] == []
    writer = await extra_key(ctx, merchant, ("read", "write"))
    r = await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "percent": 1},
                         headers=writer)
    assert r.status_code == 403


async def test_fee_and_net_are_stored_at_completion(client, ctx, merchant) -> None:
    await client.put("/api/v1/fee-rules", json={
        "gateway": "sandbox", "currency": "USD", "flat": "0.30", "percent": "2.9"},
        headers=merchant.auth())
    txn = await new_intent(client, merchant, amount="99.99")
    before = await payment(client, merchant, txn)
    assert (before["fee"], before["net_amount"], before["refunded_amount"]) == (None, None, 0)
    txn = await paid(client, merchant, "99.99")
    got = await payment(client, merchant, txn)
    assert (got["fee"], got["net_amount"], got["refunded_amount"]) == (3.2, 96.79, 0)
    # a later rule change never rewrites a completed payment's fee
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "currency": "USD",
                                                "percent": "10"}, headers=merchant.auth())
    assert (await payment(client, merchant, txn))["fee"] == 3.2
    newer = await paid(client, merchant, "99.99")
    assert (await payment(client, merchant, newer))["fee"] == 10


async def test_currency_rule_wins_over_the_any_currency_rule(client, ctx) -> None:
    m = await create_merchant(ctx)
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "percent": 1},
                     headers=m.auth())
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "currency": "USD",
                                                "percent": 2}, headers=m.auth())
    usd = await paid(client, m, "100.00")
    eur = await paid(client, m, "100.00", currency="EUR")
    jpy = await paid(client, m, "1001", currency="JPY")
    assert (await payment(client, m, usd))["fee"] == 2
    assert (await payment(client, m, eur))["fee"] == 1
    assert (await payment(client, m, jpy))["fee"] == 10  # 10.01 yen rounds to 10
    manual = await paid(client, m, "100.00", gateway="manual")  # no rule for manual
    assert (await payment(client, m, manual))["fee"] == 0


async def test_fee_never_exceeds_the_amount(client, ctx) -> None:
    m = await create_merchant(ctx)
    await client.put("/api/v1/fee-rules", json={"gateway": "sandbox", "currency": "USD",
                                                "min": "0.50"}, headers=m.auth())
    txn = await paid(client, m, "0.10")
    got = await payment(client, m, txn)
    assert (got["fee"], got["net_amount"]) == (0.1, 0)
