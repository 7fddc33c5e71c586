"""Enabling aamarPay (store id, signature key, base URL) and its currency and amount rules."""

from __future__ import annotations

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.errors import ValidationFailed
from ownpay.gateways.aamarpay.adapter import ADAPTER
from ownpay.gateways.aamarpay.client import LIVE_URL, SANDBOX_URL, base_url
from ownpay.gateways.base import GatewayContext
from ownpay.merchants.accounts import active_gateway
from ownpay.tenancy import TenantScope
from tests.gateways.aamarpay.support import CREDENTIALS, intent
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.standins import enable


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({}, {"store_id", "signature_key"}),
        ({**CREDENTIALS, "signature_key": ""}, {"signature_key"}),
        ({**CREDENTIALS, "base_url": "ftp://aamarpay.example"}, {"base_url"}),
        ({**CREDENTIALS, "base_url": "not a url"}, {"base_url"}),
        ({**CREDENTIALS, "base_url": "https://x.example/?a=1"}, {"base_url"}),
        ({**CREDENTIALS, "api_key": "x"}, {"api_key"}),
    ],
)
async def test_bad_config_is_refused_and_nothing_saved(
    gateway_ctx: AppContext, values: dict[str, str], fields: set[str]
) -> None:
    merchant = await create_merchant(gateway_ctx, gateways=())
    with pytest.raises(ValidationFailed) as caught:
        await enable(gateway_ctx, merchant, "aamarpay", **values)
    assert set(caught.value.errors) == fields
    assert await active_gateway(gateway_ctx, TenantScope(merchant.id, "test"), "aamarpay") is None


async def test_secret_sealed_and_base_url_defaults_by_mode(gateway_ctx: AppContext) -> None:
    merchant = await create_merchant(gateway_ctx, gateways=())
    await enable(gateway_ctx, merchant, "aamarpay", **CREDENTIALS)
    account = await active_gateway(gateway_ctx, TenantScope(merchant.id, "test"), "aamarpay")
    assert account is not None
    assert account.credentials(gateway_ctx.keyring) == CREDENTIALS
    assert account.credentials_enc
    assert CREDENTIALS["signature_key"].encode() not in account.credentials_enc
    secret = {f.name for f in ADAPTER.credential_fields if f.secret}
    assert secret == {"signature_key"}

    def ctx(mode: str, **settings: str) -> GatewayContext:
        return GatewayContext(mode=mode, credentials=CREDENTIALS, settings=settings,
                              http=httpx.AsyncClient(), public_base_url="http://pay.test")

    assert base_url(ctx("test")) == SANDBOX_URL == "https://sandbox.aamarpay.com"
    assert base_url(ctx("live")) == LIVE_URL == "https://secure.aamarpay.com"
    assert base_url(ctx("live", base_url="http://127.0.0.1:9/")) == "http://127.0.0.1:9"


async def test_currencies_and_amounts(customer: httpx.AsyncClient, shop: MerchantKeys) -> None:
    r = await customer.post("/api/v1/payment-intents", json=intent(currency="EUR", amount="10"),
                            headers=shop.auth())
    assert r.status_code == 400
    assert r.json()["errors"] == {"currency": ["Gateway 'aamarpay' accepts only: BDT, USD."]}
    for currency in ("BDT", "USD"):
        ok = await customer.post("/api/v1/payment-intents",
                                 json=intent(currency=currency, amount="0.01"),
                                 headers=shop.auth())
        assert ok.status_code == 201, ok.text
    assert ADAPTER.validate_amount(1, "BDT") is None
    assert ADAPTER.validate_amount(0, "BDT") is not None
    assert ADAPTER.validate_amount(100, "JPY") is not None


def test_the_adapter_declares_what_aamarpay_offers() -> None:
    assert ADAPTER.returns_by_post and ADAPTER.supports_status_query
    assert not ADAPTER.supports_refunds and not ADAPTER.supports_webhooks
    assert not ADAPTER.supports_capture
