"""Fee rules (list; set by an owner, admin or manager; bad input 400) and the ledger
(balances of the brand and mode shown; "Verify the ledger" with the CLI's verdict)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.dashboard.config_support import audit_rows, signed_in
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import create_merchant, make_refund

pytestmark = pytest.mark.api


async def test_a_manager_sets_a_fee_rule_and_a_viewer_only_reads(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    saved = await post_form(client, "/admin/fees", "/admin/fees", {
        "gateway": "sandbox", "currency": "usd", "flat": "0.30", "percent": "2.9"})
    assert saved.status_code == 303
    page = await client.get("/admin/fees")
    assert "2.9 %" in page.text and "0.30 USD" in page.text
    assert await audit_rows(ctx, "fee_rule.set", "sandbox:USD", brand.id)
    bad = await post_form(client, "/admin/fees", "/admin/fees", {
        "gateway": "sandbox", "flat": "1", "percent": "101"})
    assert bad.status_code == 400
    assert "give a currency" in bad.text and "between 0 and 100" in bad.text
    unknown = await post_form(client, "/admin/fees", "/admin/fees", {"gateway": "<x>"})
    assert unknown.status_code == 400 and "&lt;x&gt;" in unknown.text

    client.cookies.clear()
    await signed_in(client, ctx, "viewer", brand)
    read = await client.get("/admin/fees")
    assert read.status_code == 200 and "2.9 %" in read.text and "Set a rule" not in read.text
    assert (await client.post("/admin/fees", data={
        "csrf_token": csrf_of(read.text), "gateway": "sandbox"})).status_code == 403


async def test_a_manager_removes_a_fee_rule(client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    for form in ({"gateway": "sandbox", "currency": "USD", "percent": "2.9"},
                 {"gateway": "sandbox", "percent": "1"}):
        assert (await post_form(client, "/admin/fees", "/admin/fees", form)).status_code == 303
    page = await client.get("/admin/fees")
    assert "Remove<span class=\"sr\"> the sandbox rule (USD)</span>" in page.text
    removed = await post_form(client, "/admin/fees", "/admin/fees/remove",
                              {"gateway": "sandbox", "currency": "USD"})
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/fees?removed=1"
    page = await client.get("/admin/fees?removed=1")
    assert "Removed." in page.text and "2.9 %" not in page.text and "1 %" in page.text
    assert await audit_rows(ctx, "fee_rule.removed", "sandbox:USD", brand.id)
    gone = await post_form(client, "/admin/fees", "/admin/fees/remove",
                           {"gateway": "sandbox", "currency": "USD"})
    assert gone.status_code == 404
    bad = await post_form(client, "/admin/fees", "/admin/fees/remove", {"gateway": "<x>"})
    assert bad.status_code == 400 and "&lt;x&gt;" in bad.text and "1 %" in bad.text

    client.cookies.clear()
    await signed_in(client, ctx, "viewer", brand)
    read = await client.get("/admin/fees")
    assert "Remove" not in read.text
    assert (await client.post("/admin/fees/remove", data={
        "csrf_token": csrf_of(read.text), "gateway": "sandbox"})).status_code == 403


async def test_the_ledger_shows_balances_and_verifies(client: httpx.AsyncClient,
                                                      ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await make_refund(client, ctx, brand)  # a paid payment and a 1.00 refund
    await signed_in(client, ctx, "viewer", brand)
    page = await client.get("/admin/ledger")
    assert page.status_code == 200 and "USD: owed to the merchant after refunds 98.99" in page.text
    verified = await post_form(client, "/admin/ledger", "/admin/ledger/verify", {"whole": "on"})
    assert verified.status_code == 200
    assert re.search(r"ledger OK: \d+ journals, \d+ entries, 1 merchant/mode/currency books",
                     verified.text), verified.text  # whole: ignored for a brand role
    assert "This brand and mode" in verified.text


async def test_an_owner_may_verify_every_brand(client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "owner", brand)
    verified = await post_form(client, "/admin/ledger", "/admin/ledger/verify", {"whole": "on"})
    assert verified.status_code == 200 and "Every brand and mode" in verified.text
    assert "ledger OK" in verified.text or "ledger NOT OK" in verified.text
