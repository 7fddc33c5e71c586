"""``ownpay gateways enable … stripe --set …``: works offline, stores secrets encrypted,
never prints them."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.merchants.models import GatewayAccount, Merchant
from tests.support.commands import ownpay_here, ownpay_here_async
from tests.support.processes import ServerProcess

SECRET = "sk_test_" + secrets.token_hex(12)
WEBHOOK = "whsec_" + secrets.token_hex(16)
PUBLIC = "pk_test_" + secrets.token_hex(12)


def test_enable_stores_encrypted_and_prints_no_secret(
    ctx: AppContext, live_server: ServerProcess
) -> None:
    env = live_server.env
    slug = "cli-" + secrets.token_hex(4)
    ownpay_here(env, "merchants", "create", "--slug", slug, "--name", "CLI Shop")
    # Enabling must not talk to Stripe: the API base points at a port nobody listens on.
    done = ownpay_here(
        env,
        "gateways",
        "enable",
        "--merchant",
        slug,
        "--mode",
        "test",
        "stripe",
        "--set",
        f"secret_key={SECRET}",
        "--set",
        f"publishable_key={PUBLIC}",
        "--set",
        f"webhook_secret={WEBHOOK}",
        "--set",
        "api_base=http://127.0.0.1:9",
        "--json",
    )
    assert json.loads(done.stdout)["gateway"] == "stripe"
    listed = ownpay_here(env, "gateways", "list", "--merchant", slug, "--json")
    rows = json.loads(listed.stdout)
    assert [(r["gateway"], r["mode"], r["active"], r["has_credentials"]) for r in rows] == [
        ("stripe", "test", True, True)
    ]
    for output in (done.stdout + done.stderr, listed.stdout + listed.stderr):
        assert SECRET not in output and WEBHOOK not in output

    bad = ownpay_here(
        env,
        "gateways",
        "enable",
        "--merchant",
        slug,
        "--mode",
        "test",
        "stripe",
        "--set",
        "secret_key=pk_test_oops" + "x" * 12,
        "--set",
        f"publishable_key={PUBLIC}",
        "--set",
        f"webhook_secret={WEBHOOK}",
        check=False,
    )
    assert bad.returncode != 0
    assert "Secret key must start with sk_" in bad.stdout + bad.stderr
    assert "pk_test_oops" not in bad.stdout + bad.stderr and WEBHOOK not in bad.stdout + bad.stderr


async def test_credentials_are_encrypted_at_rest(
    ctx: AppContext, live_server: ServerProcess
) -> None:
    env = live_server.env
    slug = "cli-" + secrets.token_hex(4)
    await ownpay_here_async(env, "merchants", "create", "--slug", slug, "--name", "CLI Shop")
    await ownpay_here_async(
        env,
        "gateways",
        "enable",
        "--merchant",
        slug,
        "--mode",
        "test",
        "stripe",
        "--set",
        f"secret_key={SECRET}",
        "--set",
        f"publishable_key={PUBLIC}",
        "--set",
        f"webhook_secret={WEBHOOK}",
    )
    async with ctx.sessions() as s:
        account = await s.scalar(
            select(GatewayAccount)
            .join(Merchant, Merchant.id == GatewayAccount.merchant_id)
            .where(Merchant.slug == slug, GatewayAccount.gateway == "stripe")
        )
    assert account is not None and account.credentials_enc
    assert SECRET.encode() not in account.credentials_enc
    assert WEBHOOK.encode() not in account.credentials_enc
    assert SECRET not in json.dumps(account.settings)
