"""A provider that sends the customer back with a POST (an auto-submitting form, as
SSLCommerz and aamarPay do) reaches ``verify_return`` with the posted fields, without our
CSRF token, only for a gateway that declares ``returns_by_post``; the posted fields are
hints, never the outcome: the adapter asks its provider (here, a record in test memory)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.gateways import registry
from ownpay.gateways.base import GatewayContext, Outcome, PaymentView, VerifiedResult
from ownpay.gateways.sandbox.adapter import SandboxGateway
from tests.support.factories import MerchantKeys, create_merchant, intent_body

# What the "provider" knows: transaction id -> paid or not.  The posted form only names it.
PROVIDER: dict[str, str] = {}
SEEN: list[dict[str, str]] = []


class PostReturning(SandboxGateway):
    slug = "fake-post-return"
    display_name = "Fake (returns by POST)"
    returns_by_post: ClassVar[bool] = True

    async def verify_return(self, ctx: GatewayContext, payment: PaymentView,
                            params: Mapping[str, str]) -> VerifiedResult:
        SEEN.append(dict(params))
        match PROVIDER.get(params.get("tran_id", "")):
            case "paid":
                return VerifiedResult(outcome=Outcome.SUCCEEDED, amount_minor=payment.amount_minor,
                                      currency=payment.currency, reference=payment.transaction_id,
                                      provider_txn_id="BANK-" + payment.transaction_id[-6:])
            case "cancelled":
                return VerifiedResult(outcome=Outcome.PENDING, reason="cancelled at provider",
                                      customer_message="You cancelled at the provider.")
            case _:
                return VerifiedResult(outcome=Outcome.UNKNOWN, reason="provider knows nothing")


class GetReturning(SandboxGateway):
    slug = "fake-get-return"
    display_name = "Fake (returns by GET)"


@pytest.fixture
def fakes() -> Iterator[None]:
    registry.all_gateways()
    added = [g for g in (PostReturning(), GetReturning()) if registry.get(g.slug) is None]
    for gateway in added:
        registry.register(gateway)
    try:
        yield
    finally:
        for gateway in added:
            registry._REGISTRY.pop(gateway.slug, None)  # noqa: SLF001 - test-only gateways
        SEEN.clear()


@pytest.fixture
async def shop(ctx: AppContext, fakes: None) -> MerchantKeys:
    return await create_merchant(ctx, gateways=(("test", "fake-post-return"),
                                                ("test", "fake-get-return")))


async def create(client: httpx.AsyncClient, shop: MerchantKeys, gateway: str) -> str:
    r = await client.post("/api/v1/payment-intents", headers=shop.auth(),
                          json=intent_body(gateway=gateway,
                                           return_url="https://shop.example/done"))
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def status(client: httpx.AsyncClient, shop: MerchantKeys, txn: str) -> str:
    r = await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())
    return str(r.json()["status"])


async def test_a_posted_return_is_verified_and_redirects_to_the_merchant(
    client: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    txn = await create(client, shop, "fake-post-return")
    PROVIDER[txn] = "paid"
    # Cross-site, as the provider's page posts it: no cookie, no CSRF token.
    r = await client.post(f"/gateways/fake-post-return/callback/{txn}?from=query",
                          data={"tran_id": txn, "status": "VALID", "from": "form"})
    assert r.status_code == 303, r.text
    target = urlsplit(r.headers["location"])
    assert (target.netloc, target.path) == ("shop.example", "/done")
    assert await status(client, shop, txn) == "completed"
    assert SEEN[-1] == {"tran_id": txn, "status": "VALID", "from": "form"}
    # Posting it again changes nothing and still sends the customer on.
    again = await client.post(f"/gateways/fake-post-return/callback/{txn}",
                              data={"tran_id": txn})
    assert again.status_code == 303 and len(SEEN) == 1


async def test_the_posted_fields_are_hints_never_the_outcome(
    client: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    txn = await create(client, shop, "fake-post-return")
    r = await client.post(f"/gateways/fake-post-return/callback/{txn}",
                          data={"tran_id": txn, "status": "VALID", "amount": "99.99"})
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    assert await status(client, shop, txn) == "pending"


async def test_a_provider_message_shows_our_page_to_try_again(
    client: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    txn = await create(client, shop, "fake-post-return")
    PROVIDER[txn] = "cancelled"
    r = await client.post(f"/gateways/fake-post-return/callback/{txn}",
                          data={"tran_id": txn})
    assert r.status_code == 200
    assert "You cancelled at the provider." in r.text
    assert 'name="csrf_token"' in r.text  # the page's own forms work in this browser
    assert await status(client, shop, txn) == "pending"


async def test_only_a_gateway_that_returns_by_post_takes_a_post(
    client: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    txn = await create(client, shop, "fake-get-return")
    r = await client.post(f"/gateways/fake-get-return/callback/{txn}", data={"tran_id": txn})
    assert r.status_code == 404
    # The other gateway's name on this payment, or an unknown payment: 404 too.
    r = await client.post(f"/gateways/fake-post-return/callback/{txn}", data={"tran_id": txn})
    assert r.status_code == 404
    r = await client.post("/gateways/fake-post-return/callback/txn_0000000000000000",
                          data={"tran_id": "x"})
    assert r.status_code == 404
    assert await status(client, shop, txn) == "pending" and SEEN == []


async def test_a_bad_or_oversized_posted_form_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    txn = await create(client, shop, "fake-post-return")
    PROVIDER[txn] = "paid"
    r = await client.post(f"/gateways/fake-post-return/callback/{txn}",
                          content=b"tran_id=%00", headers={
                              "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    r = await client.post(f"/gateways/fake-post-return/callback/{txn}",
                          data={"tran_id": txn, "pad": "x" * 20_000})
    assert r.status_code == 413
    assert await status(client, shop, txn) == "pending" and SEEN == []
