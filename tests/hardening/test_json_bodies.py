"""Findings 1, 2 and 5 of the adversarial review (issue 16): what a request body may hold.

1. An integer >= 2**64 (or ``1e400``) in ``metadata`` used to be stored, then refused by
   the JSON writer: the payment's API answers were 500 and webhook fan-out failed for every
   merchant.  What is accepted now is what can be read back, signed and sent.
2. A ~200-byte ``1e300000`` was turned into a Python int synchronously (seconds per value).
   The reader refuses such literals before any conversion.
5. NUL characters and lone surrogates are refused in one place with a clear 400.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ownpay import jsoncodec
from ownpay.payments.models import PaymentIntent
from tests.support.factories import MerchantKeys, intent_body

INTENTS = "/api/v1/payment-intents"


def _raw(body: str, merchant: MerchantKeys) -> dict[str, object]:
    return {"content": body.encode(), "headers": {**merchant.auth(),
                                                  "Content-Type": "application/json"}}


async def _count_orders(ctx, order_id: str) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(
            select(func.count()).select_from(PaymentIntent)
            .where(PaymentIntent.order_id == order_id)) or 0)


@pytest.mark.parametrize("value", [
    "18446744073709551616",  # 2**64: orjson cannot write it
    "9223372036854775808",  # 2**63
    "9007199254740992",  # 2**53: JavaScript receivers would round it
    "-9007199254740992",
])
async def test_metadata_integers_beyond_the_safe_range_are_refused(
    client, ctx, merchant: MerchantKeys, value: str
) -> None:
    order = "BIG-" + value.strip("-")[:6]
    body = intent_body(order_id=order)
    text = jsoncodec.dumps(body).decode()[:-1] + f', "metadata": {{"n": {value}}}}}'
    r = await client.post(INTENTS, **_raw(text, merchant))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert "send larger numbers as strings" in r.json()["errors"]["metadata"][0]
    assert await _count_orders(ctx, order) == 0


async def test_the_largest_safe_integer_round_trips_exactly(
    client, merchant: MerchantKeys
) -> None:
    body = intent_body(metadata={"n": 2**53 - 1, "m": -(2**53 - 1), "f": 0.1})
    r = await client.post(INTENTS, json=body, headers=merchant.auth())
    assert r.status_code == 201, r.text
    got = await client.get(f"{INTENTS}/{r.json()['transaction_id']}", headers=merchant.auth())
    assert got.status_code == 200
    assert got.json()["metadata"] == {"n": 2**53 - 1, "m": -(2**53 - 1), "f": 0.1}


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1e300000", "1E-400",
                                     "1" + "0" * 120, "0." + "1" * 120])
@pytest.mark.parametrize("field", ["metadata", "expires_in", "amount"])
async def test_huge_number_literals_are_refused_before_conversion(
    client, ctx, merchant: MerchantKeys, literal: str, field: str
) -> None:
    order = "HUGE-" + literal[:5] + field
    body = intent_body(order_id=order)
    value = f'{{"n": {literal}}}' if field == "metadata" else literal
    text = jsoncodec.dumps({k: v for k, v in body.items() if k != field}).decode()[:-1]
    r = await client.post(INTENTS, **_raw(text + f', "{field}": {value}}}', merchant))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_JSON"
    assert "number" in r.json()["message"]
    assert await _count_orders(ctx, order) == 0


async def test_fifty_huge_exponents_in_one_body_are_one_quick_refusal(
    client, merchant: MerchantKeys
) -> None:
    members = ", ".join(f'"k{i}": 1e300000' for i in range(50))
    r = await client.post(INTENTS, **_raw(f'{{"metadata": {{{members}}}}}', merchant))
    assert r.status_code == 400 and r.json()["code"] == "INVALID_JSON"


@pytest.mark.parametrize(("body", "words"), [
    ('{"amount": NaN}', "NaN"),
    ('{"amount": Infinity}', "Infinity"),
    ('{"metadata": {"x": -Infinity}}', "-Infinity"),
    ('{"gateway": "sandbox", "gateway": "stripe"}', "twice"),
    ('{"customer_name": "Jane\\u0000Smith"}', "NUL"),
    ('{"customer_name": "Jane \\ud800"}', "Unicode"),
    ('{"metadata": {"\\u0000": "x"}}', "NUL"),
    ('{"a": ' + "[" * 40 + "]" * 40 + "}", "nested"),
])
async def test_bodies_we_could_not_store_or_send_are_refused(
    client, merchant: MerchantKeys, body: str, words: str
) -> None:
    r = await client.post(INTENTS, **_raw(body, merchant))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_JSON"
    assert words in r.json()["message"]


async def test_invalid_utf8_is_refused(client, merchant: MerchantKeys) -> None:
    r = await client.post(INTENTS, content=b'{"customer_name": "\xff\xfe"}',
                          headers={**merchant.auth(), "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": True, "code": "INVALID_JSON",
                        "message": "The request body is not valid UTF-8."}


def test_reader_keeps_fractions_exact_and_bounds_members() -> None:
    from decimal import Decimal

    assert jsoncodec.loads_strict(b'{"a": 99.99}') == {"a": Decimal("99.99")}
    assert jsoncodec.loads_strict('\ufeff{"a": 1}') == {"a": 1}
    wide = "[" + ",".join(["1"] * (jsoncodec.MAX_MEMBERS + 1)) + "]"
    with pytest.raises(jsoncodec.InvalidJsonBody, match="more than"):
        jsoncodec.loads_strict(wide)


def test_writer_makes_stored_values_writable() -> None:
    """Rows stored before the reader was strict still produce an answer."""
    assert jsoncodec.dumps({"n": 2**64, "s": "a\ud800b", "z": "a\x00"}) == (
        b'{"n":"18446744073709551616","s":"a\xef\xbf\xbdb","z":"a\xef\xbf\xbd"}')
    assert jsoncodec.dumps({"n": 2**63 - 1}) == b'{"n":9223372036854775807}'


@pytest.mark.parametrize("amount", ["٣", "１٠", "3\u0663", "1e16", "99999999999999999"])
async def test_amounts_are_ascii_digits_within_range(client, merchant: MerchantKeys,
                                                     amount: str) -> None:
    r = await client.post(INTENTS, json=intent_body(amount=amount), headers=merchant.auth())
    assert r.status_code == 400 and "amount" in r.json()["errors"]


@pytest.mark.parametrize("field", ["flat", "min", "max"])
async def test_fee_rule_amounts_beyond_64_bits_are_validation_errors(
    client, merchant: MerchantKeys, field: str
) -> None:
    body = {"gateway": "sandbox", "currency": "KWD", field: "9999999999999999"}
    r = await client.put("/api/v1/fee-rules", json=body, headers=merchant.auth())
    assert r.status_code == 400, r.text
    assert r.json()["errors"][field] == [f"The {field} is too large."]


@pytest.mark.parametrize("path", ["/api/v1/transactions", "/api/v1/transactions/export"])
async def test_amount_filters_beyond_64_bits_are_validation_errors(
    client, merchant: MerchantKeys, path: str
) -> None:
    r = await client.get(path, params={"currency": "KWD", "amount_min": "9999999999999999"},
                         headers=merchant.auth())
    assert r.status_code == 400
    assert r.json()["errors"]["amount_min"] == ["The amount_min is too large."]
