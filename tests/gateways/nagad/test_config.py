"""Enabling Nagad: merchant id and number, the two RSA keys (PEM or Nagad's bare base64),
the environment, and what is refused."""

from __future__ import annotations

import base64

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ownpay.context import AppContext
from ownpay.errors import ValidationFailed
from ownpay.gateways.base import ConfigInvalid, GatewayContext
from ownpay.gateways.nagad.adapter import ADAPTER, LIVE_URL, SANDBOX_URL
from ownpay.gateways.nagad.client import base_url
from ownpay.merchants.accounts import active_gateway
from ownpay.tenancy import TenantScope
from tests.simulators.nagad import CREDENTIALS, MERCHANT_KEY, private_pem
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.nagad import intent
from tests.support.standins import enable

SMALL = rsa.generate_private_key(public_exponent=65537, key_size=1024)


def _b64_private(key: rsa.RSAPrivateKey) -> str:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return base64.b64encode(der).decode()


def test_keys_in_either_form_are_stored_as_pem() -> None:
    creds, settings = ADAPTER.validate_config(
        {**CREDENTIALS, "merchant_private_key": _b64_private(MERCHANT_KEY),
         "merchant_number": "+8801711428036"}, {})
    assert creds["merchant_private_key"] == private_pem(MERCHANT_KEY)
    assert creds["nagad_public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert creds["merchant_number"] == "01711428036"
    assert settings == {}
    secret = {f.name for f in ADAPTER.credential_fields if f.secret}
    assert secret == {"merchant_private_key"}


def test_everything_required_is_named() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        ADAPTER.validate_config({}, {})
    assert set(caught.value.errors) == {"merchant_id", "merchant_number",
                                        "merchant_private_key", "nagad_public_key"}


ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()).decode()
own_public = MERCHANT_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize(("changes", "field"), [
    ({"merchant_id": "68300-2007"}, "merchant_id"),
    ({"merchant_number": "0123"}, "merchant_number"),
    ({"merchant_private_key": "not a key"}, "merchant_private_key"),
    ({"merchant_private_key": ec_pem}, "merchant_private_key"),
    ({"merchant_private_key": private_pem(SMALL)}, "merchant_private_key"),
    ({"nagad_public_key": "MIIBIjAN"}, "nagad_public_key"),
    ({"nagad_public_key": own_public}, "nagad_public_key"),
    ({"api_key": "x"}, "api_key"),
])
def test_bad_credentials_are_refused(changes: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        ADAPTER.validate_config({**CREDENTIALS, **changes}, {})
    assert set(caught.value.errors) == {field}
    assert CREDENTIALS["merchant_private_key"] not in str(caught.value)


@pytest.mark.parametrize(("settings", "field"), [
    ({"environment": "production"}, "environment"),
    ({"base_url": "ftp://example.com"}, "base_url"),
    ({"base_url": "https://example.com/?x=1"}, "base_url"),
    ({"server_ip": "::1"}, "server_ip"),
])
def test_bad_settings_are_refused(settings: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        ADAPTER.validate_config(CREDENTIALS, settings)
    assert set(caught.value.errors) == {field}


@pytest.mark.parametrize(("mode", "settings", "url"), [
    ("test", {}, SANDBOX_URL),
    ("live", {}, LIVE_URL),
    ("test", {"environment": "LIVE"}, LIVE_URL),
    ("live", {"environment": "sandbox"}, SANDBOX_URL),
    ("live", {"base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9"),
])
async def test_environment_picks_the_base_url(mode: str, settings: dict[str, str],
                                              url: str) -> None:
    creds, out = ADAPTER.validate_config(CREDENTIALS, settings)
    async with httpx.AsyncClient() as http:
        ctx = GatewayContext(mode=mode, credentials=creds, settings=out, http=http,
                             public_base_url="http://pay.test")
        assert base_url(ctx) == url
    assert SANDBOX_URL == "http://sandbox.mynagad.com:10080/remote-payment-gateway-1.0"
    assert LIVE_URL == "https://api.mynagad.com"


@pytest.mark.parametrize(("minor", "currency", "refused"), [
    (1, "BDT", False), (125050, "BDT", False), (0, "BDT", True), (100, "USD", True),
])
def test_amounts(minor: int, currency: str, refused: bool) -> None:
    assert (ADAPTER.validate_amount(minor, currency) is not None) is refused


def test_the_adapter_declares_what_nagad_offers() -> None:
    assert ADAPTER.supports_status_query and ADAPTER.supports_refunds
    assert not ADAPTER.supports_refund_query and not ADAPTER.idempotent_refunds
    assert not ADAPTER.supports_webhooks and not ADAPTER.returns_by_post
    assert ADAPTER.currencies == frozenset({"BDT"})


async def test_through_the_service_bad_config_saves_nothing_and_the_key_is_sealed(
    gateway_ctx: AppContext,
) -> None:
    merchant = await create_merchant(gateway_ctx, gateways=())
    with pytest.raises(ValidationFailed) as caught:
        await enable(gateway_ctx, merchant, "nagad", **{**CREDENTIALS, "nagad_public_key": "x"})
    assert set(caught.value.errors) == {"nagad_public_key"}
    scope = TenantScope(merchant.id, "test")
    assert await active_gateway(gateway_ctx, scope, "nagad") is None
    await enable(gateway_ctx, merchant, "nagad", **CREDENTIALS)
    account = await active_gateway(gateway_ctx, scope, "nagad")
    assert account is not None and account.credentials_enc
    stored = account.credentials(gateway_ctx.keyring)
    assert stored["merchant_private_key"] == CREDENTIALS["merchant_private_key"]
    body = CREDENTIALS["merchant_private_key"].splitlines()[1].encode()
    assert body not in account.credentials_enc


async def test_an_intent_in_another_currency_is_refused(
    customer: httpx.AsyncClient, shop: MerchantKeys,
) -> None:
    r = await customer.post("/api/v1/payment-intents", json=intent(currency="USD"),
                            headers=shop.auth())
    assert r.status_code == 400
    assert r.json()["errors"] == {"currency": ["Gateway 'nagad' accepts only: BDT."]}
