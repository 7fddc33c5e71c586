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
from ownpay.payments.models import PaymentIntent
from tests.support.checkout import checkout, new_intent
from tests.support.contract import HARNESSES

NO_MONEY = "No money was taken."
OUTCOME = re.compile(r'<section class="outcome[^"]*"[^>]*>(.*?)</section>', re.S)
SENTENCE = re.compile(r"(?<=[.!?])\s+")

# Every stored failure reason each gateway's adapter writes (one per message it can map
# to), as its harness declares them (tests/contract/harnesses/<slug>.py,
# ``failure_reasons``): a new gateway brings its own, nothing here changes.
FAILURE_REASONS: dict[str, list[str]] = {
    slug: list(harness.failure_reasons) for slug, harness in HARNESSES.items()}


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


def test_every_registered_gateway_declares_its_failure_reasons() -> None:
    # tests/contract/test_registry.py: every registered gateway has a harness
    assert set(FAILURE_REASONS) == set(registry.all_gateways())
    missing = sorted(slug for slug, reasons in FAILURE_REASONS.items() if not reasons)
    assert not missing, f"declare failure_reasons in tests/contract/harnesses/<slug>.py: {missing}"


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
