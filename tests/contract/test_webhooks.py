"""Check 5: a provider webhook is believed only when its signature verifies.  For a gateway
with ``supports_webhooks`` the harness signs one as the provider does (accepted) and spoils
it in every way it knows (each refused with WebhookRejected); a gateway without webhooks
offers none and refuses to parse one."""

from __future__ import annotations

import httpx
import pytest

from ownpay.gateways.base import ProviderEvent, ProviderEventKind, WebhookRejected
from tests.contract.harnesses.base import Harness

pytestmark = pytest.mark.contract


async def test_only_a_correctly_signed_webhook_is_accepted(harness: Harness,
                                                           http: httpx.AsyncClient) -> None:
    gateway = harness.gateway
    ctx = harness.context(http)
    payment = harness.payment()
    signed = harness.webhooks(ctx, payment)
    if not gateway.supports_webhooks:
        assert signed is None
        with pytest.raises(NotImplementedError):
            await gateway.parse_webhook(ctx, {}, b"{}")
        return
    assert signed is not None, "a gateway with webhooks needs signed examples"
    good, bad = signed
    assert len(bad) >= 3, "spoil the signature in more ways (secret, body, header)"
    event = await gateway.parse_webhook(ctx, good.headers, good.body)
    assert isinstance(event, ProviderEvent) and event.event_id == good.event_id
    assert event.kind is ProviderEventKind.PAYMENT
    assert event.reference in (None, payment.transaction_id)
    for why, webhook in bad:
        with pytest.raises(WebhookRejected):
            await gateway.parse_webhook(ctx, webhook.headers, webhook.body)
            pytest.fail(f"accepted a webhook with {why}")
    assert not [r for r in bad if r[1].body == good.body and r[1].headers == good.headers]
