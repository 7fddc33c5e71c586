"""``ownpay refunds|fees|ledger`` against the test database (in the test process: what is
tested is the commands, not a process start)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.checkout import paid, payment, refund
from tests.support.commands import ownpay_here_async as ownpay
from tests.support.factories import create_merchant
from tests.support.processes import server_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return server_env(database_url, tmp_path / "data")


async def run_json(env: dict[str, str], *args: str) -> Any:
    result = await ownpay(env, *args, "--json")
    return json.loads(result.stdout)


async def test_fees_refunds_and_ledger_from_the_command_line(client, ctx, cli_env) -> None:
    m = await create_merchant(ctx)
    rule = await run_json(cli_env, "fees", "set", "--merchant", m.slug, "--mode", "test",
                          "--gateway", "sandbox", "--currency", "USD", "--flat", "0.30",
                          "--percent", "2.9")
    assert (rule["flat"], rule["percent"], rule["currency"]) == (0.3, 2.9, "USD")
    no_currency = await ownpay(cli_env, "fees", "set", "--merchant", m.slug, "--mode", "test",
                             "--gateway", "sandbox", "--flat", "0.30", check=False)
    assert no_currency.returncode == 1 and "give a currency" in no_currency.stderr
    assert "Traceback" not in no_currency.stderr
    listed = await run_json(cli_env, "fees", "list", "--merchant", m.slug)
    assert [(r["gateway"], r["percent"]) for r in listed] == [("sandbox", 2.9)]

    card = await paid(client, m, "99.99")
    assert (await payment(client, m, card))["fee"] == 3.2
    done = await run_json(cli_env, "refunds", "create", card, "--amount", "10.50",
                          "--reason", "damaged")
    assert (done["status"], done["amount"], done["reason"]) == ("completed", 10.5, "damaged")
    over = await ownpay(cli_env, "refunds", "create", card, "--amount", "90", check=False)
    assert over.returncode == 1 and "refundable remainder, 89.49 USD" in over.stderr

    offline = await paid(client, m, "20.00", gateway="manual")
    first = await run_json(cli_env, "refunds", "create", offline, "--amount", "5")
    assert (first["status"], first["pending_reason"]) == ("pending", "awaiting_operator")
    second = (await refund(client, m, offline)).json()
    assert second["amount"] == 15
    assert (await run_json(cli_env, "refunds", "confirm", first["id"]))["status"] == "completed"
    again = await ownpay(cli_env, "refunds", "fail", first["id"], check=False)
    assert again.returncode == 1 and "already completed" in again.stderr
    r = await client.post(f"/api/v1/refunds/{second['id']}/fail", headers=m.auth())
    assert r.json()["status"] == "failed"

    human = await ownpay(cli_env, "refunds", "list", "--merchant", m.slug, "--mode", "test")
    lines = human.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [second["id"], first["id"], done["id"]]
    assert "failed" in lines[0] and "completed" in lines[1]
    assert (await payment(client, m, offline))["refunded_amount"] == 5

    verified = await ownpay(cli_env, "ledger", "verify", "--merchant", m.slug)
    assert verified.returncode == 0 and "ledger OK" in verified.stdout
    (usd,) = (await client.get("/api/v1/ledger/balances", headers=m.auth())).json()["data"]
    assert usd["accounts"]["refunds"]["balance"] == 15.5
    assert usd["accounts"]["fee_income"]["balance"] == 3.2


async def test_a_fee_rule_is_removed_from_the_command_line(ctx, cli_env) -> None:
    import asyncio

    from sqlalchemy import select

    from ownpay.audit.models import AuditEntry
    from tests.support.commands import in_process

    async def run(*args: str) -> Any:
        return await asyncio.to_thread(in_process, cli_env, *args)

    m = await create_merchant(ctx)
    base = ("--merchant", m.slug, "--mode", "test", "--gateway", "sandbox")
    assert (await run("fees", "set", *base, "--percent", "1")).exit_code == 0
    assert (await run("fees", "set", *base, "--currency", "USD", "--percent", "2")).exit_code == 0
    done = await run("fees", "remove", *base, "--currency", "usd", "--json")
    assert done.exit_code == 0, done.stderr
    assert (json.loads(done.stdout)["currency"], json.loads(done.stdout)["percent"]) == ("USD", 2)
    human = await run("fees", "remove", *base)
    assert human.exit_code == 0
    assert human.stdout.strip() == "removed the sandbox fee rule (any currency, test mode)"
    missing = await run("fees", "remove", *base)
    assert missing.exit_code == 1
    assert "no fee rule for sandbox (any currency) in test mode" in missing.stderr
    unknown = await run("fees", "remove", "--merchant", m.slug, "--mode", "test",
                        "--gateway", "nope", "--currency", "ZZZ")
    assert unknown.exit_code == 1 and "Unknown gateway 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    listed = await run("fees", "list", "--merchant", m.slug, "--json")
    assert json.loads(listed.stdout) == []
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.merchant_id == m.id, AuditEntry.actor_type == "cli")
            .order_by(AuditEntry.id)))
    assert actions == ["fee_rule.set", "fee_rule.set", "fee_rule.removed", "fee_rule.removed"]
