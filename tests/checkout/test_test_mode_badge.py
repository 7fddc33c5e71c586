"""Every checkout page of a test-mode payment says TEST, whatever its gateway (the shared
layout, driven by the payment's mode); no live page does."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from ownpay.gateways import registry
from ownpay.payments.models import PaymentIntent
from tests.support.checkout import checkout, new_intent

BADGE = re.compile(r'<p class="test-badge" data-testid="test-mode"[^>]*><strong>TEST</strong>')


async def as_gateway(ctx, txn: str, gateway: str, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn)
                        .values(gateway=gateway, **values))


@pytest.mark.parametrize("gateway", sorted(registry.all_gateways()))
async def test_test_mode_status_and_error_pages_of_every_gateway_say_test(
    client, ctx, merchant, gateway: str
) -> None:
    failed = await new_intent(client, merchant)
    await as_gateway(ctx, failed, gateway, status="failed", failure_reason="declined")
    page = await client.get(f"/checkout/{failed}")
    assert page.status_code == 200 and "Payment failed" in page.text
    assert len(BADGE.findall(page.text)) == 1
    # the merchant has no account of bKash or Stripe: their payment gets the error page
    # (sandbox and manual are enabled: their pay page)
    unavailable = await new_intent(client, merchant)
    await as_gateway(ctx, unavailable, gateway)
    page = await client.get(f"/checkout/{unavailable}")
    if gateway not in ("sandbox", "manual"):
        assert page.status_code == 503 and "not available right now" in page.text
    assert len(BADGE.findall(page.text)) == 1


@pytest.mark.parametrize("gateway", ["sandbox", "manual"])
async def test_test_mode_pay_pages_say_test(client, merchant, gateway: str) -> None:
    txn = await new_intent(client, merchant, gateway=gateway)
    page = await client.get(f"/checkout/{txn}")
    assert 'action="/checkout/' in page.text and len(BADGE.findall(page.text)) == 1
    assert "Test mode — not a real payment" in page.text
    refused = await checkout(client, txn)  # nothing filled in / no outcome chosen
    if refused.status_code == 303 and refused.headers["location"] == f"/checkout/{txn}":
        assert len(BADGE.findall((await client.get(f"/checkout/{txn}")).text)) == 1


async def test_live_pages_do_not(client, merchant) -> None:
    txn = await new_intent(client, merchant, gateway="manual", mode="live")
    page = await client.get(f"/checkout/{txn}")
    assert 'action="/checkout/' in page.text
    assert "test-badge" not in page.text and "TEST" not in page.text
    r = await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=merchant.auth("live"))
    assert r.status_code == 200
    page = await client.get(f"/checkout/{txn}")
    assert "Payment cancelled" in page.text and "test-badge" not in page.text
