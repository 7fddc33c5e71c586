"""Enabling PayPal: what the merchant must give, what is refused, that the secret is stored
encrypted and never printed; the base URLs; the amounts PayPal can be sent."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.gateways.base import ConfigInvalid, GatewayContext
from ownpay.gateways.paypal.adapter import LIVE_URL, SANDBOX_URL, PayPalGateway
from ownpay.gateways.paypal.client import base_url
from ownpay.gateways.paypal.mapping import from_paypal_amount, to_paypal_amount
from ownpay.merchants.models import GatewayAccount
from tests.simulators.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
from tests.support.commands import ownpay_here_async as ownpay
from tests.support.factories import create_merchant
from tests.support.processes import server_env

GOOD = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def test_credentials_are_required() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        PayPalGateway().validate_config({"client_id": CLIENT_ID}, {})
    assert "client_secret" in caught.value.errors
    assert "Client secret is required." in str(caught.value)


@pytest.mark.parametrize(("credentials", "field"), [
    ({**GOOD, "client_id": "short"}, "client_id"),
    ({**GOOD, "client_id": "has spaces in it 0123456789"}, "client_id"),
    ({**GOOD, "client_secret": "tiny"}, "client_secret"),
    ({**GOOD, "webhook_id": "not/an/id"}, "webhook_id"),
    ({**GOOD, "key_id": "x"}, "key_id"),
])
def test_bad_values_and_unknown_fields_are_refused(credentials: dict[str, str],
                                                   field: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        PayPalGateway().validate_config(credentials, {})
    assert set(caught.value.errors) == {field}
    assert CLIENT_SECRET not in str(caught.value)


@pytest.mark.parametrize("base", ["ftp://example.com", "https://example.com/?x=1", "api",
                                  "https://user:pw@example.com"])
def test_a_bad_base_url_is_refused(base: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        PayPalGateway().validate_config(GOOD, {"base_url": base})
    assert set(caught.value.errors) == {"base_url"}


@pytest.mark.parametrize(("mode", "settings", "url"), [
    ("test", {}, SANDBOX_URL), ("live", {}, LIVE_URL),
    ("test", {"base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9"),
])
async def test_the_base_url(mode: str, settings: dict[str, str], url: str) -> None:
    creds, out = PayPalGateway().validate_config(
        {**GOOD, "client_id": f" {CLIENT_ID} ", "webhook_id": ""}, settings)
    assert creds == GOOD
    assert SANDBOX_URL == "https://api-m.sandbox.paypal.com"
    assert LIVE_URL == "https://api-m.paypal.com"
    async with httpx.AsyncClient() as http:
        ctx = GatewayContext(mode=mode, credentials=creds, settings=out, http=http,
                             public_base_url="http://pay.test")
        assert base_url(ctx) == url


@pytest.mark.parametrize(("minor", "currency", "refused"), [
    (1, "USD", False), (4995, "EUR", False), (500, "JPY", False), (1200, "HUF", False),
    (1234, "HUF", True), (10000, "TWD", False), (10001, "TWD", True), (0, "USD", True),
    (-5, "USD", True), (100, "BDT", True), (100, "INR", True), (1000, "KWD", True),
])
def test_amounts(minor: int, currency: str, refused: bool) -> None:
    reason = PayPalGateway().validate_amount(minor, currency)
    assert (reason is not None) is refused, reason
    if not refused:
        assert from_paypal_amount(to_paypal_amount(minor, currency), currency) == minor


def test_paypal_amounts_read_back_exactly_or_not_at_all() -> None:
    assert to_paypal_amount(1200, "HUF") == "12" and to_paypal_amount(500, "JPY") == "500"
    assert to_paypal_amount(4995, "USD") == "49.95"
    for bad in (100, 1.0, None, "", "1e3x", "-1.00", "NaN", "1.001"):
        assert from_paypal_amount(bad, "USD") is None, bad
    assert from_paypal_amount("1.00", "XYZ") is None


@pytest.mark.e2e
async def test_enabling_by_cli_stores_the_secret_encrypted_and_never_prints_it(
    database_url: str, tmp_path: Path, gateway_ctx: AppContext,
) -> None:
    merchant = await create_merchant(gateway_ctx, gateways=())
    env = server_env(database_url, tmp_path)
    made = await ownpay(env, "gateways", "enable", "paypal", "--merchant", merchant.slug,
                      "--mode", "live", "--set", f"client_id={CLIENT_ID}",
                      "--set", f"client_secret={CLIENT_SECRET}",
                      "--set", f"webhook_id={WEBHOOK_ID}", check=False)
    assert made.returncode == 0, made.stderr
    listed = await ownpay(env, "gateways", "list", "--merchant", merchant.slug, "--json")
    assert CLIENT_SECRET not in made.stdout + made.stderr + listed.stdout
    rows = json.loads(listed.stdout)
    assert any(row.get("gateway") == "paypal" and row.get("mode") == "live" for row in rows)
    async with gateway_ctx.sessions() as s:
        blob = await s.scalar(select(GatewayAccount.credentials_enc).where(
            GatewayAccount.gateway == "paypal", GatewayAccount.mode == "live"))
    assert blob and CLIENT_SECRET.encode() not in blob
    bad = await ownpay(env, "gateways", "enable", "paypal", "--merchant", merchant.slug,
                     "--mode", "test", "--set", f"client_id={CLIENT_ID}",
                     "--set", "client_secret=tiny", check=False)
    assert bad.returncode == 1 and "client_secret" in bad.stderr and "tiny" not in bad.stderr
