"""What the status page tells a customer whose payment failed or was cancelled: composed
from parts (what happened, the operator's reason, whether money moved), so no sentence is
said twice for any gateway, and an offline payment never claims "No money was taken"."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import update

from ownpay.gateways import registry
from ownpay.gateways.bkash.mapping import TransactionStatus
from ownpay.gateways.bkash.messages import CUSTOMER_MESSAGES
from ownpay.gateways.nagad.mapping import PaymentStatus as NagadPaymentStatus
from ownpay.gateways.paypal.mapping import CAPTURE_ISSUES as PAYPAL_CAPTURE_ISSUES
from ownpay.gateways.razorpay.mapping import OrderStatus as RzpOrderStatus
from ownpay.gateways.sslcommerz.mapping import TransactionStatus as SslTransactionStatus
from ownpay.gateways.stripe.mapping import DECLINE_MESSAGES, DECLINE_PREFIX
from ownpay.payments.models import PaymentIntent
from tests.support.checkout import checkout, new_intent

NO_MONEY = "No money was taken."
OUTCOME = re.compile(r'<section class="outcome[^"]*"[^>]*>(.*?)</section>', re.S)
SENTENCE = re.compile(r"(?<=[.!?])\s+")

# Every stored failure reason each gateway's adapter writes (one per message it can map
# to); a gateway added to the registry must add its own here.
FAILURE_REASONS: dict[str, list[str]] = {
    "bkash": [f"bKash {code} its message (execute)" for code in CUSTOMER_MESSAGES]
    + [f"bKash status {s} (status query)" for s in TransactionStatus]
    + ["bKash callback status 'failure'; bKash status Failed (status query)",
       "bKash status Initiated: never executed before the payment link expired; no money "
       "moved (status query)", "capture outcome unknown: timeout"],
    "stripe": [f"{DECLINE_PREFIX}{code} (Your card was declined.)" for code in DECLINE_MESSAGES]
    + [f"{DECLINE_PREFIX}some_new_code", "Stripe PaymentIntent canceled (abandoned)"],
    "sandbox": ["sandbox: customer chose failure (card_declined)"],
    "manual": ["rejected by operator", "no such transfer"],
    **{f"{wallet}_personal": ["rejected by operator", "no such bKash transaction in the app"]
       for wallet in ("bkash", "nagad", "rocket", "upay")},
    "aamarpay": ["aamarPay status Failed (status_code 7, Transaction Failed) (search)",
                 "aamarPay status Failed (status_code None) (search)"],
    "sslcommerz": [f"SSLCommerz status {s} (status query)" for s in SslTransactionStatus]
    + ["SSLCommerz refused the session: Invalid amount", "capture outcome unknown: timeout"],
    "razorpay": [f"Razorpay order {str(s)!r} (status query)" for s in RzpOrderStatus]
    + ["Razorpay order 'attempted', payment pay_X1 'failed' (payment_failed) (status query)",
       "Razorpay order 'paid', payment pay_X1 'refunded' (status query)",
       "Razorpay order left unpaid (Razorpay order 'created' (status query))",
       "capture outcome unknown: timeout"],
    "paypal": [f"PayPal refused the capture: {issue} (PayPal said so)"
               for issue in PAYPAL_CAPTURE_ISSUES]
    + ["PayPal order 5O190127TN364715T 'VOIDED' (status query): voided",
       "customer cancelled at PayPal; PayPal order 5O190127TN364715T 'CREATED' (return): "
       "not approved yet",
       "PayPal order 5O190127TN364715T 'COMPLETED' (capture), capture 3C679366HH908993F "
       "'DECLINED' (PROCESSOR_DECLINED)"],
    "nagad": [f"Nagad status {s} (statusCode 00_1010_002) (verify)" for s in NagadPaymentStatus]
    + ["Nagad refused the initialize: InvalidMerchant Invalid merchant",
       "Nagad return Aborted; Nagad status Ready (statusCode none) (verify)",
       "nothing to cancel: Nagad status Aborted (statusCode 00_1013_001) (verify)"],
}


def outcome_text(page: str) -> str:
    found = OUTCOME.search(page)
    assert found, page[:500]
    paragraphs = re.findall(r"<p[^>]*>(.*?)</p>", found.group(1), re.S)
    texts = [html.unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in paragraphs]
    return " ".join(t for t in texts if t)


def assert_said_once(text: str) -> None:
    sentences = [s for s in SENTENCE.split(text) if s]
    repeated = {s for s in sentences if sentences.count(s) > 1}
    assert not repeated, text


async def failed_as(ctx: Any, txn: str, gateway: str, reason: str) -> None:
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn).values(
            gateway=gateway, status="failed", failure_reason=reason))


def test_every_registered_gateway_has_its_failure_reasons_here() -> None:
    assert set(FAILURE_REASONS) == set(registry.all_gateways())


@pytest.mark.parametrize("gateway", sorted(FAILURE_REASONS))
async def test_every_failure_message_is_said_once_with_one_money_sentence(
    client, ctx, merchant, gateway: str
) -> None:
    adapter = registry.get(gateway)
    assert adapter is not None
    txn = await new_intent(client, merchant)
    for reason in FAILURE_REASONS[gateway]:
        await failed_as(ctx, txn, gateway, reason)
        r = await client.get(f"/checkout/{txn}")
        assert r.status_code == 200
        text = outcome_text(r.text)
        assert_said_once(text)
        if adapter.customer_sends_money:
            assert "money was taken" not in text.lower(), (reason, text)
            assert "If you have already sent the money, please contact" in text
        else:
            assert text.count(NO_MONEY) == 1, (reason, text)
            assert "no money was taken" not in text.replace(NO_MONEY, "").lower()


async def test_the_bkash_not_completed_page_says_no_money_was_taken_once(
    client, ctx, merchant
) -> None:
    """The page of the report: "…did not go through. No money was taken. No money was
    taken." """
    txn = await new_intent(client, merchant)
    await failed_as(ctx, txn, "bkash", "bKash status Failed (execute)")
    text = outcome_text((await client.get(f"/checkout/{txn}")).text)
    assert text.startswith("The bKash payment did not go through. No money was taken.")
    assert text.count(NO_MONEY) == 1


async def manual_submitted(client, merchant) -> str:
    txn = await new_intent(client, merchant, gateway="manual", order_id="ORD-OFFLINE-1")
    r = await checkout(client, txn, sender_account="01712345678",
                       provider_txn_id="TX" + txn[-8:])
    assert r.status_code == 303
    return txn


async def test_a_rejected_offline_payment_is_neutral_and_gives_the_operators_reason(
    client, merchant
) -> None:
    txn = await manual_submitted(client, merchant)
    r = await client.post(f"/api/v1/payment-intents/{txn}/reject",
                          json={"reason": "No transfer of this amount reached our account."},
                          headers=merchant.auth())
    assert r.status_code == 200 and r.json()["status"] == "failed"
    text = outcome_text((await client.get(f"/checkout/{txn}")).text)
    assert "could not confirm this payment." in text
    shop = f"Shop {merchant.slug}"
    assert text.startswith(f"{shop} could not confirm this payment.")
    assert f"Reason given by {shop}: No transfer of this amount reached our account." in text
    assert "money was taken" not in text.lower()
    assert (f"If you have already sent the money, please contact {shop} and quote order "
            "ORD-OFFLINE-1.") in text
    assert_said_once(text)


async def test_a_rejection_without_a_reason_shows_no_reason_line(client, merchant) -> None:
    txn = await manual_submitted(client, merchant)
    r = await client.post(f"/api/v1/payment-intents/{txn}/reject", headers=merchant.auth())
    assert r.status_code == 200
    page = (await client.get(f"/checkout/{txn}")).text
    text = outcome_text(page)
    assert "Reason given" not in text and "rejected by operator" not in text
    assert "could not confirm this payment." in text and "money was taken" not in text.lower()


async def test_a_cancelled_offline_payment_does_not_claim_no_money_moved(
    client, merchant
) -> None:
    txn = await new_intent(client, merchant, gateway="manual")
    r = await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=merchant.auth())
    assert r.status_code == 200
    text = outcome_text((await client.get(f"/checkout/{txn}")).text)
    assert text.startswith("This payment was cancelled.")
    assert "money was taken" not in text.lower() and "please contact" in text
    card = await new_intent(client, merchant)
    await client.post(f"/api/v1/payment-intents/{card}/cancel", headers=merchant.auth())
    assert outcome_text((await client.get(f"/checkout/{card}")).text).count(NO_MONEY) == 1
