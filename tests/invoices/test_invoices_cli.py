"""``ownpay invoices create|list|show|finalize|void|mark-uncollectible``: the API's checks
and answers from the command line, audited; another brand's invoice is not found."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from tests.support.commands import in_process
from tests.support.factories import create_merchant
from tests.support.settings import SECRET_KEY

pytestmark = pytest.mark.api
LINE = '{"description": "ইফতার বক্স", "quantity": "3", "unit_price": "120.50"}'


async def cli(ctx: Any, *args: str) -> Any:
    env = {"OWNPAY_DATABASE_URL": ctx.settings.resolved_database_url,
           "OWNPAY_DATA_DIR": str(ctx.settings.data_dir), "OWNPAY_SECRET_KEY": SECRET_KEY}
    return await asyncio.to_thread(in_process, env, *args)


async def test_invoices_through_the_cli(ctx: Any, client: httpx.AsyncClient) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    made = await cli(ctx, "invoices", "create", "--merchant", shop.slug, "--mode", "test",
                     "--currency", "BDT", "--line", LINE, "--tax-rate", "5",
                     "--customer-name", "Karim", "--customer-email", "karim@example.com",
                     "--due-date", "2099-03-01", "--json")
    assert made.exit_code == 0, made.stderr
    invoice = json.loads(made.stdout)
    assert (invoice["number"], invoice["status"], invoice["total"]) == (
        "INV-000001", "draft", "379.58")  # 361.50 + 5 % = 379.575 → 379.58
    bad = await cli(ctx, "invoices", "create", "--merchant", shop.slug, "--mode", "test",
                    "--currency", "BDT", "--line", '{"description": "x", "quantity": "0", '
                    '"unit_price": "1"}')
    assert bad.exit_code == 1 and "quantity must be greater than 0" in bad.stderr
    junk = await cli(ctx, "invoices", "create", "--merchant", shop.slug, "--currency", "BDT",
                     "--line", "{nope")
    assert junk.exit_code == 1 and "--line is one JSON object" in junk.stderr

    opened = await cli(ctx, "invoices", "finalize", invoice["id"], "--merchant", shop.slug,
                       "--mode", "test", "--reason", "sent", "--json")
    assert opened.exit_code == 0, opened.stderr
    assert json.loads(opened.stdout)["status"] == "open"
    page = await client.get("/invoice/" + invoice["url"].rsplit("/", 1)[1])
    assert page.status_code == 200 and "ইফতার বক্স" in page.text
    listed = await cli(ctx, "invoices", "list", "--merchant", shop.slug, "--mode", "test",
                       "--status", "open")
    assert invoice["id"] in listed.stdout and "INV-000001" in listed.stdout
    wrong = await cli(ctx, "invoices", "list", "--merchant", shop.slug, "--status", "late")
    assert wrong.exit_code == 1 and "--status is one of" in wrong.stderr
    shown = await cli(ctx, "invoices", "show", invoice["id"], "--merchant", shop.slug,
                      "--mode", "test")
    assert "3 × 120.50  ইফতার বক্স  = 361.50" in shown.stdout
    assert "total 379.58" in shown.stdout
    theirs = await cli(ctx, "invoices", "show", invoice["id"], "--merchant", other.slug,
                       "--mode", "test")
    assert theirs.exit_code == 1 and "not found" in theirs.stderr
    voided = await cli(ctx, "invoices", "void", invoice["id"], "--merchant", shop.slug,
                       "--mode", "test")
    assert voided.exit_code == 0 and " void " in voided.stdout
    again = await cli(ctx, "invoices", "void", invoice["id"], "--merchant", shop.slug,
                      "--mode", "test")
    assert again.exit_code == 1 and "Only an open invoice" in again.stderr
    quick = await cli(ctx, "invoices", "create", "--merchant", shop.slug, "--mode", "test",
                      "--currency", "JPY", "--line",
                      '{"description": "Tea", "unit_price": "500"}', "--finalize", "--json")
    assert json.loads(quick.stdout)["status"] == "open", quick.stderr
    off = await cli(ctx, "invoices", "mark-uncollectible", json.loads(quick.stdout)["id"],
                    "--merchant", shop.slug, "--mode", "test", "--json")
    assert json.loads(off.stdout)["status"] == "uncollectible", off.stderr
    async with ctx.sessions() as s:
        actions = [a.action for a in await s.scalars(select(AuditEntry).where(
            AuditEntry.object_id == invoice["id"]).order_by(AuditEntry.id))]
    assert actions == ["invoice.created", "invoice.open", "invoice.void"]
