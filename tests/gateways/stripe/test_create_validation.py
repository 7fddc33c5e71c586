"""``POST /api/v1/payment-intents`` refuses what the chosen gateway cannot charge (the
adapter's ``validate_amount``), instead of leaving it to fail on the checkout page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.gateways import registry
from ownpay.payments.models import PaymentIntent
from tests.support.factories import create_merchant, intent_body
from tests.support.stripe import StandIn, stripe_merchant


async def _intents_for_order(ctx: AppContext, order_id: str) -> int:
    async with ctx.sessions() as s:
        n = await s.scalar(
            select(func.count()).select_from(PaymentIntent)
            .where(PaymentIntent.order_id == order_id)
        )
    return int(n or 0)


@pytest.mark.parametrize(
    ("currency", "amount", "why"),
    [
        ("KWD", "12.345", "Stripe needs KWD amounts whose last (third) decimal is 0"),
        ("BHD", 0.001, "Stripe needs BHD amounts whose last (third) decimal is 0"),
        ("USD", "1000000.00", "Stripe accepts at most eight digits per amount"),
        ("JPY", 100_000_000, "Stripe accepts at most eight digits per amount"),
    ],
)
async def test_amounts_stripe_cannot_charge_are_refused_at_creation(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn, currency: str, amount: Any,
    why: str,
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    body = intent_body(gateway="stripe", currency=currency, amount=amount)
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 400, r.text
    got = r.json()
    assert got["error"] is True and got["code"] == "VALIDATION_ERROR"
    assert list(got["errors"]) == ["amount"]
    [message] = got["errors"]["amount"]
    assert message.startswith(why), message
    assert await _intents_for_order(ctx, body["order_id"]) == 0


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("KWD", "12.340"), ("BHD", "0.5"), ("USD", "999999.99"), ("JPY", 99_999_999)],
)
async def test_amounts_stripe_can_charge_are_accepted(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn, currency: str, amount: Any
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    body = intent_body(gateway="stripe", currency=currency, amount=amount)
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 201, r.text


async def test_the_rule_belongs_to_the_gateway(
    ctx: AppContext, client: httpx.AsyncClient
) -> None:
    """The same amount through a gateway that can take it is fine."""
    merchant = await create_merchant(ctx)
    body = intent_body(gateway="sandbox", currency="KWD", amount="12.345")
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 201, r.text


def test_adapters_reuse_their_own_conversion() -> None:
    stripe = registry.get("stripe")
    assert stripe is not None
    assert stripe.validate_amount(12_340, "KWD") is None
    assert "12.345 KWD" in (stripe.validate_amount(12_345, "KWD") or "")
    for slug in ("sandbox", "manual", "bkash"):
        adapter = registry.get(slug)
        assert adapter is not None and adapter.validate_amount(1, "BDT") is None
