"""Stripe card checkout over HTTP against localstripe: pay, decline, 3-D Secure, currencies,
tampering and provider outages.  The browser's part (Stripe.js) is played by the helpers'
``confirm_card``, which sends what our page's script sends."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from tests.support.factories import intent_body
from tests.support.stripe import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    StandIn,
    api_intent,
    create_intent,
    history,
    open_checkout,
    outbox_events,
    stripe_merchant,
)


async def test_happy_path_card_completes_once(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(
        client,
        merchant,
        amount=99.99,
        currency="USD",
        description="Annual plan",
        order_id="ORDER-HAPPY",
    )
    page, pi, secret = await open_checkout(client, txn)

    # The page: our card form, Stripe.js from the configured URL, CSP opened for it only.
    r = await client.get(f"/checkout/{txn}")
    csp = r.headers["content-security-policy"]
    for directive in ("script-src", "connect-src", "frame-src"):
        part = next(p for p in csp.split("; ") if p.startswith(directive))
        assert standin.url in part
    assert f'src="{standin.js_url}"' in page and "stripe-checkout.js" in page
    assert 'role="alert"' in page and '<label for="card-element"' in page
    assert "sk_test_" not in page  # the secret key never reaches the browser

    # One PaymentIntent, reused on every page load, with our amount and transaction id.
    _, again, _ = await open_checkout(client, txn)
    assert again == pi
    at_stripe = await standin.payment_intent(pi)
    assert (at_stripe["amount"], at_stripe["currency"]) == (9999, "usd")
    assert at_stripe["metadata"]["transaction_id"] == txn
    assert at_stripe["metadata"]["order_id"] == "ORDER-HAPPY"
    assert at_stripe["description"] == "Annual plan"
    assert (await api_intent(client, merchant, txn))["provider_reference"] == pi

    confirmed = await standin.confirm_card(secret, CARD_OK)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"

    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.netloc == "shop.example"
    assert parse_qs(target.query)["status"] == ["completed"]
    got = await api_intent(client, merchant, txn)
    assert got["status"] == "completed" and got["paid_at"]
    assert got["provider_transaction_id"].startswith("ch_")
    assert await history(ctx, txn) == [("pending", "completed", "gateway:stripe")]
    assert await outbox_events(ctx, txn) == ["payment.completed"]

    # Coming back again (reload, double redirect) changes nothing.
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303 and "status=completed" in r.headers["location"]
    assert len(await history(ctx, txn)) == 1
    assert await outbox_events(ctx, txn) == ["payment.completed"]
    assert "Payment received" in (await client.get(f"/checkout/{txn}")).text


async def test_decline_keeps_the_payment_payable(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)

    declined = await standin.confirm_card(secret, CARD_DECLINED)
    assert declined.status_code == 402
    assert declined.json()["error"]["message"] == "Your card was declined."

    # Back on our page: a clear message, the card form again, nothing changed.
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 200
    assert "Your card was declined. Please try another card." in r.text
    assert 'role="alert"' in r.text and 'id="stripe-card-form"' in r.text
    assert (await api_intent(client, merchant, txn))["status"] == "pending"
    assert await history(ctx, txn) == []

    # Another card on the same PaymentIntent goes through.
    _, same_pi, same_secret = await open_checkout(client, txn)
    assert (same_pi, same_secret) == (pi, secret)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303 and "status=completed" in r.headers["location"]
    assert await history(ctx, txn) == [("pending", "completed", "gateway:stripe")]


async def test_three_d_secure(ctx: AppContext, client: httpx.AsyncClient, standin: StandIn) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)

    needs_auth = await standin.confirm_card(secret, CARD_3DS)
    assert needs_auth.json()["status"] == "requires_action"
    # Returning mid-challenge completes nothing.
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    assert (await api_intent(client, merchant, txn))["status"] == "pending"

    # A failed challenge: told so, still payable.
    failed = await standin.authenticate(secret, success=False)
    assert failed.json()["status"] == "requires_payment_method"
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 200 and "could not be authenticated (3-D Secure)" in r.text
    assert (await api_intent(client, merchant, txn))["status"] == "pending"

    # Then the challenge passes.
    assert (await standin.confirm_card(secret, CARD_3DS)).json()["status"] == "requires_action"
    assert (await standin.authenticate(secret, success=True)).json()["status"] == "succeeded"
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303 and "status=completed" in r.headers["location"]
    assert await history(ctx, txn) == [("pending", "completed", "gateway:stripe")]


@pytest.mark.parametrize(
    ("currency", "amount", "stripe_amount"),
    [
        ("JPY", 500, 500),
        ("KRW", "12000", 12000),
        ("KWD", "12.340", 12340),
        ("BHD", "0.5", 500),
        ("EUR", "10.05", 1005),
    ],
)
async def test_currencies_are_sent_in_stripes_unit(
    ctx: AppContext,
    client: httpx.AsyncClient,
    standin: StandIn,
    currency: str,
    amount: object,
    stripe_amount: int,
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant, currency=currency, amount=amount)
    _, pi, secret = await open_checkout(client, txn)
    at_stripe = await standin.payment_intent(pi)
    assert (at_stripe["amount"], at_stripe["currency"]) == (stripe_amount, currency.lower())
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303 and "status=completed" in r.headers["location"]
    assert (await api_intent(client, merchant, txn))["status"] == "completed"


async def test_amount_stripe_cannot_represent_is_refused_clearly(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    # Refused when the intent is created (validate_amount; more cases in
    # test_create_validation.py), so no customer ever reaches a page that cannot charge it.
    merchant = await stripe_merchant(ctx, standin)
    body = intent_body(gateway="stripe", currency="KWD", amount="12.345")
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
    assert "12.345 KWD cannot be charged exactly" in r.json()["errors"]["amount"][0]


@pytest.mark.parametrize(
    "tamper",
    [
        {"amount": 100},
        {"currency": "eur"},
        {"metadata": {"transaction_id": "txn_0000000000000000"}},
    ],
    ids=["amount", "currency", "reference"],
)
async def test_tampered_payment_intent_is_never_accepted(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn, tamper: dict[str, object]
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant, amount=25)
    _, pi, secret = await open_checkout(client, txn)
    # Someone with the merchant's Stripe key changes the PaymentIntent, then pays it.
    changed = await standin.api("POST", f"/v1/payment_intents/{pi}", json=tamper)
    assert changed.status_code == 200, changed.text
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"

    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert "status=completed" not in r.headers.get("location", "")
    assert (await api_intent(client, merchant, txn))["status"] == "pending"
    assert await history(ctx, txn) == [] and await outbox_events(ctx, txn) == []
    # The page refuses to collect more money on that PaymentIntent.
    r = await client.get(f"/checkout/{txn}")
    assert r.status_code == 503 and "temporarily unavailable" in r.text


async def test_provider_outage_changes_nothing_then_completes(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    standin.stop()
    try:
        r = await client.get(f"/checkout/{txn}")
        assert r.status_code == 503
        assert "The payment provider is temporarily unavailable" in r.text
        got = await api_intent(client, merchant, txn)
        assert got["status"] == "pending" and got["provider_reference"] is None
    finally:
        standin.start()

    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    standin.stop()
    try:
        # Paid at Stripe, but we cannot ask: say so, change nothing.
        r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
        assert r.status_code == 503 and "could not confirm your payment" in r.text
        assert (await api_intent(client, merchant, txn))["status"] == "pending"
        assert await history(ctx, txn) == []
    finally:
        standin.start()  # same port, same state file: the PaymentIntent is still there

    r = await client.get(f"/checkout/{txn}/return", params={"payment_intent": pi})
    assert r.status_code == 303 and "status=completed" in r.headers["location"]
    assert await history(ctx, txn) == [("pending", "completed", "gateway:stripe")]
    assert await outbox_events(ctx, txn) == ["payment.completed"]


async def test_reloading_after_paying_verifies_instead_of_asking_again(
    ctx: AppContext, client: httpx.AsyncClient, standin: StandIn
) -> None:
    """The customer paid, then closed the tab before our return URL; reopening the link
    must not show a card form again but verify with Stripe and finish."""
    merchant = await stripe_merchant(ctx, standin)
    txn = await create_intent(client, merchant)
    _, pi, secret = await open_checkout(client, txn)
    assert (await standin.confirm_card(secret, CARD_OK)).json()["status"] == "succeeded"
    r = await client.get(f"/checkout/{txn}")
    assert r.status_code == 303
    assert r.headers["location"].endswith(f"/checkout/{txn}/return?payment_intent={pi}")
    r = await client.get(urlsplit(r.headers["location"]).path, params={"payment_intent": pi})
    assert r.status_code == 303 and "status=completed" in r.headers["location"]
