"""Enabling bKash (credentials, base URL) and its currency rule, through the API and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.errors import ValidationFailed
from ownpay.gateways.bkash.adapter import SANDBOX_URL
from ownpay.merchants import service as merchants
from ownpay.merchants.accounts import active_gateway
from ownpay.tenancy import TenantScope
from tests.support.bkash import CREDENTIALS, bkash_intent, enable_bkash
from tests.support.commands import ownpay_here_async as ownpay
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.processes import server_env


async def test_other_currencies_are_a_validation_error(
    customer: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    r = await customer.post(
        "/api/v1/payment-intents", json=bkash_intent(currency="USD", amount="10"),
        headers=shop.auth(),
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["errors"] == {"currency": ["Gateway 'bkash' accepts only: BDT."]}
    ok = await customer.post("/api/v1/payment-intents", json=bkash_intent(), headers=shop.auth())
    assert ok.status_code == 201


async def test_base_url_defaults_to_the_sandbox(bkash_ctx: AppContext) -> None:
    merchant = await create_merchant(bkash_ctx, gateways=())
    await enable_bkash(bkash_ctx, merchant, **CREDENTIALS)
    account = await active_gateway(bkash_ctx, TenantScope(merchant.id, "test"), "bkash")
    assert account is not None
    creds = account.credentials(bkash_ctx.keyring)
    assert creds == {**CREDENTIALS, "base_url": SANDBOX_URL}
    # at rest the secrets are sealed
    assert account.credentials_enc and CREDENTIALS["app_secret"].encode() not in (
        account.credentials_enc
    )


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({}, {"app_key", "app_secret", "username", "password"}),
        ({**CREDENTIALS, "password": ""}, {"password"}),
        ({**CREDENTIALS, "base_url": "ftp://bkash.example"}, {"base_url"}),
        ({**CREDENTIALS, "base_url": "not a url"}, {"base_url"}),
        ({**CREDENTIALS, "api_key": "x"}, {"api_key"}),
    ],
)
async def test_enable_refuses_bad_config(
    bkash_ctx: AppContext, values: dict[str, str], fields: set[str]
) -> None:
    merchant = await create_merchant(bkash_ctx, gateways=())
    with pytest.raises(ValidationFailed) as caught:
        await enable_bkash(bkash_ctx, merchant, **values)
    assert set(caught.value.errors or {}) == fields
    async with bkash_ctx.sessions() as s:
        m = await merchants.get_merchant(s, merchant.slug)
        assert await merchants.list_gateway_accounts(s, merchant=m) == []


@pytest.mark.e2e
async def test_cli_enable_never_echoes_secrets(
    database_url: str, tmp_path: Path, bkash_ctx: AppContext
) -> None:
    merchant = await create_merchant(bkash_ctx, gateways=())
    env = server_env(database_url, tmp_path)
    sets = [a for k, v in CREDENTIALS.items() for a in ("--set", f"{k}={v}")]
    made = await ownpay(env, "gateways", "enable", "bkash", "--merchant", merchant.slug,
                      "--mode", "live", *sets, "--set",
                      "base_url=https://tokenized.pay.bka.sh/v1.2.0-beta", check=False)
    assert made.returncode == 0, made.stderr
    listed = await ownpay(env, "gateways", "list", "--merchant", merchant.slug, "--json")
    for secret in ("sandbox-app-secret", "sandbox-pass"):
        assert secret not in made.stdout + made.stderr + listed.stdout
    rows = json.loads(listed.stdout)
    assert any(row.get("gateway") == "bkash" and row.get("mode") == "live" for row in rows)
