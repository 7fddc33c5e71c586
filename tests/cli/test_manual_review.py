"""An operator decides manual payments with ``ownpay payments approve|reject TXN [--reason]``.

The customer submits the manual form on the checkout page (over HTTP); the operator's
command runs as a separate process against the same database, as it would in production.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.commands import ownpay_here_async as ownpay
from tests.support.factories import MerchantKeys, intent_body
from tests.support.processes import server_env

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return server_env(database_url, tmp_path / "data")


async def submitted_manual_payment(
    client: httpx.AsyncClient, merchant: MerchantKeys, provider_txn: str
) -> str:
    r = await client.post("/api/v1/payment-intents", headers=merchant.auth(),
                          json=intent_body(gateway="manual", amount="30"))
    assert r.status_code == 201, r.text
    txn = str(r.json()["transaction_id"])
    if provider_txn:
        page = await client.get(f"/checkout/{txn}")
        token = CSRF.search(page.text)
        assert token, page.text
        sent = await client.post(f"/checkout/{txn}/pay", data={
            "csrf_token": token.group(1), "sender_account": "01700-000000",
            "provider_txn_id": provider_txn})
        assert sent.status_code == 303, sent.text
    return txn


async def intent(client: httpx.AsyncClient, merchant: MerchantKeys, txn: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_operator_approves_and_rejects_from_the_command_line(
    client: httpx.AsyncClient, merchant: MerchantKeys, cli_env: dict[str, str]
) -> None:
    approved = await submitted_manual_payment(client, merchant, "CLI-OK-" + merchant.slug)
    rejected = await submitted_manual_payment(client, merchant, "CLI-NO-" + merchant.slug)
    assert (await intent(client, merchant, approved))["status"] == "awaiting_verification"

    await ownpay(cli_env, "payments", "approve", approved, "--reason", "on the statement")
    got = await intent(client, merchant, approved)
    assert got["status"] == "completed" and got["paid_at"]
    last = got["status_history"][-1]
    assert (last["from_status"], last["to_status"], last["actor"], last["reason"]) == (
        "awaiting_verification", "completed", "operator:cli", "on the statement")

    out = await ownpay(cli_env, "payments", "reject", rejected, "--reason", "no such transfer")
    assert out.stdout.strip().endswith(f"{rejected} is now failed")
    got = await intent(client, merchant, rejected)
    assert got["status"] == "failed" and got["failure_reason"] == "no such transfer"
    assert got["status_history"][-1]["actor"] == "operator:cli"

    # The paid page is what the customer now sees.
    assert "Payment received" in (await client.get(f"/checkout/{approved}")).text


async def test_operator_commands_refuse_what_is_not_awaiting_verification(
    client: httpx.AsyncClient, merchant: MerchantKeys, cli_env: dict[str, str]
) -> None:
    pending = await submitted_manual_payment(client, merchant, "")
    refused = await ownpay(cli_env, "payments", "approve", pending, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (
        "error: Only a payment awaiting verification can be reviewed; this one is pending.")
    assert (await intent(client, merchant, pending))["status"] == "pending"

    unknown = await ownpay(cli_env, "payments", "reject", "txn_0000000000000000", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: payment txn_0000000000000000 not found"


async def test_json_output_is_nothing_but_json(
    client: httpx.AsyncClient, merchant: MerchantKeys, cli_env: dict[str, str]
) -> None:
    txn = await submitted_manual_payment(client, merchant, "CLI-JSON-" + merchant.slug)
    out = await ownpay(cli_env, "payments", "approve", txn, "--json")
    assert json.loads(out.stdout) == {"transaction_id": txn, "status": "completed"}


async def test_the_operator_sees_what_the_customer_submitted_before_deciding(
    client: httpx.AsyncClient, merchant: MerchantKeys, cli_env: dict[str, str]
) -> None:
    txn = await submitted_manual_payment(client, merchant, "CLI-SHOW-" + merchant.slug)
    shown = (await ownpay(cli_env, "payments", "show", txn)).stdout
    assert shown.splitlines()[0] == f"{txn}  awaiting_verification  30.00 USD"
    assert f"merchant   {merchant.slug} (test), gateway manual" in shown
    assert "submitted by the customer:\n  sender_account: 01700-000000\n" \
           f"  provider_txn_id: CLI-SHOW-{merchant.slug}" in shown
    assert "awaiting_verification  customer via manual" in shown

    as_json = json.loads((await ownpay(cli_env, "payments", "show", txn, "--json")).stdout)
    api = await intent(client, merchant, txn)
    # The same body as the API (the in-process client's base URL differs from the CLI's).
    assert as_json.pop("payment_url").endswith(api.pop("payment_url").split("/", 3)[3])
    assert as_json == {"merchant": merchant.slug, **api}
    assert as_json["customer_submission"]["sender_account"] == "01700-000000"

    unknown = await ownpay(cli_env, "payments", "show", "txn_0000000000000000", check=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: payment txn_0000000000000000 not found"
