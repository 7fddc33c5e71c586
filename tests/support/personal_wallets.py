"""The personal-wallet gateways' shared test pieces: the conformance harness (one module per
gateway in tests/contract/harnesses/ names it), each provider's valid sample values, and a
payment's steps through the real API and checkout -- enabling a gateway (:func:`enable`),
creating a 1,250.50 BDT payment (:func:`new_payment`) and opening its checkout page with
the form's CSRF token (:func:`open_page`)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, ClassVar

from ownpay.gateways.base import GatewayContext, PaymentView, VerifiedResult
from ownpay.merchants import service as merchants
from tests.contract.harnesses.base import Harness
from tests.support.factories import intent_body

# slug -> (a wallet number, a sender number, a transaction id), each valid for the provider
SAMPLES: dict[str, tuple[str, str, str]] = {
    "bkash_personal": ("01712345678", "01812345678", "BHQ4K8L2ZP"),
    "nagad_personal": ("01912345678", "01612345678", "71ABCD9E"),
    "rocket_personal": ("017123456789", "018123456789", "1234567890"),
    "upay_personal": ("01512345678", "01312345678", "01HK3M2N4P"),
}

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def enable(ctx: Any, merchant: Any, slug: str, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        row = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=row, mode="test", gateway=slug,
                                       values={"wallet_number": SAMPLES[slug][0], **values})
    ctx.gateway_accounts.invalidate()


async def open_page(client: Any, txn: str) -> tuple[str, str]:
    r = await client.get(f"/checkout/{txn}")
    assert r.status_code == 200, r.text
    found = CSRF.search(r.text)
    assert found
    return r.text, found.group(1)


async def new_payment(client: Any, merchant: Any, slug: str, **overrides: Any) -> str:
    r = await client.post("/api/v1/payment-intents", headers=merchant.auth(), json=intent_body(
        gateway=slug, currency="BDT", amount=1250.5, **overrides))
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


class PersonalHarness(Harness):
    """A submission is the customer's claim; an operator (or an SMS) decides."""

    slug: ClassVar[str]
    completes_itself = False
    talks_http = False
    failure_reasons = ("rejected by operator", "no such bKash transaction in the app")

    def settings(self) -> dict[str, Any]:
        return {"wallet_number": SAMPLES[self.slug][0]}

    def payment(self, **changes: Any) -> PaymentView:
        return replace(super().payment(currency="BDT", amount_minor=50000), **changes)

    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        assert tamper is None, "no provider reports personal-wallet payments"
        _, sender, trx = SAMPLES[self.slug]
        return [await self.gateway.submit(ctx, payment, {"sender_number": sender,
                                                         "trx_id": trx.lower()})]
