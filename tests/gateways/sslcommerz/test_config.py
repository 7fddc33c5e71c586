"""Enabling SSLCommerz: what the merchant must give, and what is refused."""

from __future__ import annotations

import httpx
import pytest

from ownpay.gateways.base import ConfigInvalid, GatewayContext
from ownpay.gateways.sslcommerz.adapter import LIVE_URL, SANDBOX_URL, SslcommerzGateway
from ownpay.gateways.sslcommerz.client import base_url

GOOD = {"store_id": "testbox", "store_passwd": "qwerty"}


def test_credentials_are_required() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        SslcommerzGateway().validate_config({"store_id": "testbox"}, {})
    assert set(caught.value.errors) == {"store_passwd"}


@pytest.mark.parametrize(("settings", "field"), [
    ({"environment": "production"}, "environment"),
    ({"base_url": "ftp://example.com"}, "base_url"),
    ({"base_url": "https://example.com/?x=1"}, "base_url"),
])
def test_bad_settings_are_refused(settings: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        SslcommerzGateway().validate_config(GOOD, settings)
    assert field in caught.value.errors


@pytest.mark.parametrize(("credentials", "field"), [
    ({**GOOD, "store_id": "te st!"}, "store_id"),
    ({**GOOD, "api_key": "x"}, "api_key"),
])
def test_bad_store_id_and_unknown_fields_are_refused(credentials: dict[str, str],
                                                     field: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        SslcommerzGateway().validate_config(credentials, {})
    assert set(caught.value.errors) == {field}


@pytest.mark.parametrize(("settings", "url"), [
    ({}, SANDBOX_URL),
    ({"environment": "live"}, LIVE_URL),
    ({"environment": "LIVE", "base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9"),
])
async def test_environment_picks_the_base_url(settings: dict[str, str], url: str) -> None:
    creds, out = SslcommerzGateway().validate_config(GOOD, settings)
    async with httpx.AsyncClient() as http:
        ctx = GatewayContext(mode="test", credentials=creds, settings=out, http=http,
                             public_base_url="http://pay.test")
        assert base_url(ctx) == url


@pytest.mark.parametrize(("minor", "currency", "refused"), [
    (1000, "BDT", False), (999, "BDT", True), (50_000_000, "BDT", False),
    (50_000_001, "BDT", True), (1, "USD", False), (100, "JPY", True), (0, "USD", True),
])
def test_amounts(minor: int, currency: str, refused: bool) -> None:
    assert (SslcommerzGateway().validate_amount(minor, currency) is not None) is refused
