"""The Stripe adapter itself: configuration, amounts in Stripe's unit, the exhaustive status
mapping, and refunds against localstripe."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.errors import ValidationFailed
from ownpay.gateways import registry
from ownpay.gateways.base import GatewayContext, GatewayError, Outcome, PaymentView
from ownpay.gateways.stripe.adapter import (
    AmountNotRepresentable,
    StripeGateway,
    from_stripe_amount,
    to_stripe_amount,
)
from ownpay.merchants import service as merchants
from ownpay.payments.models import PaymentIntent
from ownpay.payments.presenters import payment_view
from tests.support.factories import create_merchant
from tests.support.records import gateway_call
from tests.support.stripe import (
    CARD_DECLINED,
    CARD_OK,
    PUBLISHABLE_KEY,
    SECRET_KEY,
    StandIn,
    create_intent,
    open_checkout,
    stripe_merchant,
)

GATEWAY = StripeGateway()
VALID = {
    "secret_key": SECRET_KEY,
    "publishable_key": PUBLISHABLE_KEY,
    "webhook_secret": "whsec_" + "a" * 32,
}


# ---- configuration --------------------------------------------------------------------------


def test_registered_and_declares_its_capabilities() -> None:
    assert registry.get("stripe") is not None
    assert GATEWAY.supports_webhooks and GATEWAY.supports_status_query
    assert GATEWAY.supports_refunds and GATEWAY.idempotent_refunds
    assert not GATEWAY.works_without_javascript


def test_valid_config_gets_defaults() -> None:
    creds, _ = GATEWAY.validate_config(VALID, {})
    assert creds["api_base"] == "https://api.stripe.com"
    assert creds["js_url"] == "https://js.stripe.com/v3/"
    creds, _ = GATEWAY.validate_config(
        {**VALID, "secret_key": "rk_test_" + "b" * 24, "api_base": "http://127.0.0.1:8420/"}, {}
    )
    assert creds["api_base"] == "http://127.0.0.1:8420"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("secret_key", "pk_test_" + "x" * 24, "must start with sk_"),
        ("secret_key", "sk_test_ with space", "Letters, digits and underscores only"),
        ("publishable_key", "sk_test_" + "x" * 24, "must start with pk_"),
        ("webhook_secret", "secret-" + "x" * 24, "must start with whsec_"),
        ("publishable_key", "pk_live_" + "x" * 24, "both be test keys or both live keys"),
        ("api_base", "ftp://api.example", "absolute http(s) URL"),
        ("api_base", "api.stripe.com", "absolute http(s) URL"),
        ("js_url", "javascript:alert(1)", "absolute http(s) URL"),
        ("unknown_thing", "1", "Unknown setting"),
    ],
)
async def test_bad_config_is_refused_without_echoing_secrets(
    ctx: AppContext, field: str, value: str, message: str
) -> None:
    keys = await create_merchant(ctx, gateways=())
    with pytest.raises(ValidationFailed) as caught:
        async with ctx.sessions() as s, s.begin():
            merchant = await merchants.get_merchant(s, keys.slug)
            await merchants.enable_gateway(
                s,
                ctx.keyring,
                merchant=merchant,
                mode="test",
                gateway="stripe",
                values={**VALID, field: value},
            )
    errors = caught.value.errors or {}
    assert message in " ".join(errors.get(field, [])), errors
    assert value not in str(errors) and SECRET_KEY not in str(errors)


async def test_missing_credentials_are_listed(ctx: AppContext) -> None:
    keys = await create_merchant(ctx, gateways=())
    with pytest.raises(ValidationFailed) as caught:
        async with ctx.sessions() as s, s.begin():
            merchant = await merchants.get_merchant(s, keys.slug)
            await merchants.enable_gateway(
                s, ctx.keyring, merchant=merchant, mode="test", gateway="stripe", values={}
            )
    assert set(caught.value.errors or {}) == {"secret_key", "publishable_key", "webhook_secret"}


# ---- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "minor", "stripe_amount"),
    [
        ("USD", 9999, 9999),
        ("JPY", 500, 500),
        ("KRW", 12000, 12000),
        ("KWD", 12340, 12340),
        ("TND", 10, 10),
        ("ISK", 500, 50000),  # ISO: no decimals; Stripe: two, in multiples of 100
        ("MGA", 150000, 1500),  # ISO: two decimals; Stripe: zero-decimal
        ("USD", 99_999_999, 99_999_999),
    ],
)
def test_amounts_convert_exactly_both_ways(currency: str, minor: int, stripe_amount: int) -> None:
    assert to_stripe_amount(minor, currency) == stripe_amount
    assert from_stripe_amount(stripe_amount, currency) == minor


@pytest.mark.parametrize(
    ("currency", "minor", "why"),
    [
        ("KWD", 12345, "last (third) decimal is 0"),
        ("BHD", 1, "last (third) decimal is 0"),
        ("MGA", 150050, "whole multiples of 1.00 MGA"),
        ("USD", 100_000_000, "at most eight digits"),
    ],
)
def test_amounts_stripe_cannot_represent_are_refused(currency: str, minor: int, why: str) -> None:
    with pytest.raises(AmountNotRepresentable, match=re.escape(why)):
        to_stripe_amount(minor, currency)


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("ISK", 50050), ("USD", "100"), ("USD", 1.5), ("USD", True), ("USD", None)],
)
def test_stripe_amounts_without_exact_equivalent_never_match(currency: str, amount: Any) -> None:
    assert from_stripe_amount(amount, currency) is None


# ---- status mapping -------------------------------------------------------------------------


def _view(status: str = "pending", **changes: Any) -> PaymentView:
    view = PaymentView(
        transaction_id="txn_0123456789abcdef",
        merchant_slug="shop",
        mode="test",
        status=status,
        amount_minor=9999,
        currency="USD",
        order_id="O-1",
        description=None,
        customer_name="Jane",
        customer_email="jane@example.com",
        customer_phone=None,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        provider_reference="pi_123",
    )
    return replace(view, **changes)


def _pi(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": "pi_123",
        "status": status,
        "amount": 9999,
        "currency": "usd",
        "metadata": {"transaction_id": "txn_0123456789abcdef"},
        **fields,
    }


DECLINE = {"code": "card_declined", "decline_code": "insufficient_funds", "message": "Declined."}


@pytest.mark.parametrize(
    ("pi", "payment_status", "outcome"),
    [
        (_pi("succeeded", latest_charge="ch_1"), "pending", Outcome.SUCCEEDED),
        (_pi("processing"), "pending", Outcome.PROCESSING),
        (_pi("processing", amount=1), "pending", Outcome.UNKNOWN),
        (_pi("requires_payment_method"), "pending", Outcome.PENDING),
        (_pi("requires_payment_method", last_payment_error=DECLINE), "pending", Outcome.PENDING),
        (_pi("requires_payment_method", last_payment_error=DECLINE), "processing", Outcome.FAILED),
        (_pi("requires_confirmation"), "pending", Outcome.PENDING),
        (_pi("requires_action"), "pending", Outcome.PENDING),
        (_pi("requires_capture"), "pending", Outcome.UNKNOWN),
        (_pi("canceled"), "pending", Outcome.PENDING),
        (_pi("canceled"), "processing", Outcome.FAILED),
        (_pi("something_new"), "pending", Outcome.UNKNOWN),
        (_pi(""), "processing", Outcome.UNKNOWN),
    ],
)
def test_every_status_maps_and_only_succeeded_can_complete(
    pi: dict[str, Any], payment_status: str, outcome: Outcome
) -> None:
    result = GATEWAY.map_payment_intent(pi, _view(payment_status))
    assert result.outcome is outcome
    assert result.provider_reference == "pi_123"
    if outcome is Outcome.SUCCEEDED:
        assert (result.amount_minor, result.currency, result.reference) == (
            9999,
            "USD",
            "txn_0123456789abcdef",
        )
        assert result.provider_txn_id == "ch_1"


def test_decline_gives_the_customer_a_clear_message() -> None:
    result = GATEWAY.map_payment_intent(
        _pi("requires_payment_method", last_payment_error=DECLINE), _view()
    )
    assert result.customer_message == "Your card has insufficient funds. Please try another card."
    assert result.reason == "Stripe declined: insufficient_funds (Declined.)"
    assert GATEWAY.describe_failure(result.reason) == result.customer_message


def test_succeeded_without_our_reference_reports_an_empty_one() -> None:
    """An empty reference (not None) makes the payments service refuse the result."""
    result = GATEWAY.map_payment_intent(_pi("succeeded", metadata={}), _view())
    assert result.outcome is Outcome.SUCCEEDED and result.reference == ""


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("succeeded", Outcome.SUCCEEDED),
        ("pending", Outcome.PROCESSING),
        ("requires_action", Outcome.PROCESSING),
        ("failed", Outcome.FAILED),
        ("canceled", Outcome.FAILED),
        ("weird", Outcome.UNKNOWN),
    ],
)
def test_refund_statuses_map(status: str, outcome: Outcome) -> None:
    assert GATEWAY.map_refund({"id": "re_1", "status": status}).outcome is outcome


# ---- refunds against the stand-in ---------------------------------------------------------


async def _paid_payment(
    ctx: AppContext, client: Any, standin: StandIn, **overrides: Any
) -> tuple[Any, PaymentView]:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant, **overrides)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert "status=completed" in r.headers["location"]
    async with ctx.sessions() as s:
        intent = await s.get(PaymentIntent, txn)
    assert intent is not None
    gctx, slug = await gateway_call(ctx, intent)
    return gctx, payment_view(intent, slug)


async def test_partial_then_full_refund(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    gctx, view = await _paid_payment(ctx, client, standin, amount=99.99)
    first = await GATEWAY.refund(
        gctx, view, amount_minor=1000, refund_id="rf_partial_1", reason="damaged item"
    )
    assert first.outcome is Outcome.SUCCEEDED and (first.provider_refund_id or "").startswith("re_")
    rest = await GATEWAY.refund(gctx, view, amount_minor=8999, refund_id="rf_rest_1", reason=None)
    assert rest.outcome is Outcome.SUCCEEDED and rest.provider_refund_id != first.provider_refund_id

    listed = await standin.api(
        "GET", "/v1/refunds", params={"payment_intent": view.provider_reference}
    )
    refunds = {r["metadata"]["refund_id"]: r for r in listed.json()["data"]}
    assert refunds["rf_partial_1"]["amount"] == 1000 and refunds["rf_rest_1"]["amount"] == 8999
    assert refunds["rf_partial_1"]["metadata"]["transaction_id"] == view.transaction_id

    # The refund's status: by Stripe's id, and found by ours after a lost answer.
    by_id = await GATEWAY.query_refund(
        gctx, view, refund_id="rf_partial_1", provider_refund_id=first.provider_refund_id
    )
    assert by_id.outcome is Outcome.SUCCEEDED
    by_ours = await GATEWAY.query_refund(gctx, view, refund_id="rf_rest_1", provider_refund_id=None)
    assert (by_ours.outcome, by_ours.provider_refund_id) == (
        Outcome.SUCCEEDED,
        rest.provider_refund_id,
    )
    never_sent = await GATEWAY.query_refund(
        gctx, view, refund_id="rf_never", provider_refund_id=None
    )
    assert never_sent.outcome is Outcome.UNKNOWN


async def test_refund_in_a_zero_decimal_currency(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    gctx, view = await _paid_payment(ctx, client, standin, currency="JPY", amount=5000)
    result = await GATEWAY.refund(gctx, view, amount_minor=1200, refund_id="rf_jpy_1", reason=None)
    assert result.outcome is Outcome.SUCCEEDED
    refund = await standin.api("GET", f"/v1/refunds/{result.provider_refund_id}")
    assert (refund.json()["amount"], refund.json()["currency"]) == (1200, "jpy")


async def test_refunds_refused_or_impossible(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    gctx, view = await _paid_payment(ctx, client, standin, currency="KWD", amount="10.000")
    odd = await GATEWAY.refund(gctx, view, amount_minor=1005, refund_id="rf_kwd", reason=None)
    assert odd.outcome is Outcome.FAILED and "third) decimal is 0" in (odd.reason or "")
    none = await GATEWAY.refund(
        gctx,
        replace(view, provider_reference=None),
        amount_minor=100,
        refund_id="rf_none",
        reason=None,
    )
    assert none.outcome is Outcome.FAILED

    # A payment whose card was declined has nothing to refund: Stripe says so.
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(merchant=merchant, client=client)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_DECLINED)).status_code == 402
    async with ctx.sessions() as s:
        intent = await s.get(PaymentIntent, txn)
    assert intent is not None
    gctx2, slug = await gateway_call(ctx, intent)
    refused = await GATEWAY.refund(
        gctx2,
        payment_view(intent, slug),
        amount_minor=100,
        refund_id="rf_declined",
        reason=None,
    )
    assert refused.outcome is Outcome.FAILED and "Stripe refused the refund" in (
        refused.reason or ""
    )


async def test_refund_during_an_outage_is_ambiguous(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    gctx, view = await _paid_payment(ctx, client, standin)
    standin.stop()
    try:
        with pytest.raises(GatewayError):
            await GATEWAY.refund(gctx, view, amount_minor=100, refund_id="rf_outage", reason=None)
    finally:
        standin.start()
    # Nothing reached Stripe; the same refund id can be sent again safely.
    assert (
        await GATEWAY.query_refund(gctx, view, refund_id="rf_outage", provider_refund_id=None)
    ).outcome is Outcome.UNKNOWN
    again = await GATEWAY.refund(gctx, view, amount_minor=100, refund_id="rf_outage", reason=None)
    assert again.outcome is Outcome.SUCCEEDED


# ---- what localstripe cannot show: Stripe's idempotent replay ----------------------------


async def test_an_idempotent_replay_is_refreshed_before_use() -> None:
    """Stripe answers a repeated create (same idempotency key) with the *first* response,
    which may be stale; localstripe ignores idempotency keys, so a scripted HTTP transport
    plays Stripe here.  The adapter must notice the replay and retrieve the current state:
    this PaymentIntent was paid meanwhile, so the page verifies instead of asking again."""
    txn = "txn_0123456789abcdef"
    seen: list[tuple[str, str, str | None]] = []
    stale = {
        "id": "pi_1",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "amount": 9999,
        "currency": "usd",
        "client_secret": "pi_1_secret_x",
        "metadata": {"transaction_id": txn},
    }

    def stripe_api(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.headers.get("idempotency-key")))
        if request.method == "POST":
            return httpx.Response(200, json=stale, headers={"Idempotent-Replayed": "true"})
        return httpx.Response(200, json={**stale, "status": "succeeded"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(stripe_api)) as http:
        gctx = GatewayContext(
            mode="test",
            credentials={**VALID, "api_base": "https://stripe.invalid"},
            settings={},
            http=http,
            public_base_url="https://pay.example",
            checkout_url=f"https://pay.example/checkout/{txn}",
        )
        view = await GATEWAY.start_checkout(gctx, _view(provider_reference=None))
    assert seen == [("POST", "/v1/payment_intents", txn), ("GET", "/v1/payment_intents/pi_1", None)]
    assert view.redirect_url == f"https://pay.example/checkout/{txn}/return?payment_intent=pi_1"
    assert view.provider_reference == "pi_1"


async def test_a_rejected_api_key_is_a_gateway_error_without_the_key() -> None:
    def stripe_api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "message": "Invalid API Key provided: sk_test_****dp7dc",
                }
            },
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(stripe_api)) as http:
        gctx = GatewayContext(
            mode="test",
            credentials={**VALID, "api_base": "https://stripe.invalid"},
            settings={},
            http=http,
            public_base_url="https://pay.example",
        )
        with pytest.raises(GatewayError) as caught:
            await GATEWAY.query_status(gctx, _view())
    assert not caught.value.retryable
    assert "sk_" not in str(caught.value)
