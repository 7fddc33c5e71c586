"""``ownpay links create|list|show|update``: the API's checks and answers from the command
line, audited; another brand's link is not found."""

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


async def cli(ctx: Any, *args: str) -> Any:
    env = {"OWNPAY_DATABASE_URL": ctx.settings.resolved_database_url,
           "OWNPAY_DATA_DIR": str(ctx.settings.data_dir), "OWNPAY_SECRET_KEY": SECRET_KEY}
    return await asyncio.to_thread(in_process, env, *args)


async def test_links_through_the_cli(ctx: Any, client: httpx.AsyncClient) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    made = await cli(ctx, "links", "create", "--merchant", shop.slug, "--mode", "test",
                     "--title", "Donation", "--currency", "BDT", "--min-amount", "50",
                     "--gateway", "sandbox", "--field",
                     '{"name": "note", "label": "A note", "type": "text"}', "--json")
    assert made.exit_code == 0, made.stderr
    link = json.loads(made.stdout)
    assert (link["min_amount"], link["amount"], link["gateways"]) == ("50.00", None,
                                                                     ["sandbox"])
    assert link["fields"][0]["name"] == "note"
    page = await client.get(f"/pay/{link['slug']}")
    assert page.status_code == 200 and "Donation" in page.text

    bad = await cli(ctx, "links", "create", "--merchant", shop.slug, "--mode", "test",
                    "--title", "X", "--currency", "BDT", "--amount", "1", "--min-amount", "1")
    assert bad.exit_code == 1 and "not both" in bad.stderr
    junk = await cli(ctx, "links", "create", "--merchant", shop.slug, "--title", "X",
                     "--currency", "BDT", "--field", "{nope")
    assert junk.exit_code == 1 and "--field is one JSON object" in junk.stderr

    listed = await cli(ctx, "links", "list", "--merchant", shop.slug, "--mode", "test")
    assert link["id"] in listed.stdout and "50.00–any BDT" in listed.stdout
    off = await cli(ctx, "links", "update", link["id"], "--merchant", shop.slug, "--mode",
                    "test", "--inactive", "--json")
    assert off.exit_code == 0 and json.loads(off.stdout)["active"] is False
    assert (await client.get(f"/pay/{link['slug']}")).status_code == 410
    shown = await cli(ctx, "links", "show", link["id"], "--merchant", shop.slug, "--mode",
                      "test")
    assert "active: False" in shown.stdout and f"slug: {link['slug']}" in shown.stdout
    theirs = await cli(ctx, "links", "show", link["id"], "--merchant", other.slug, "--mode",
                       "test")
    assert theirs.exit_code == 1 and "not found" in theirs.stderr
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == link["id"]).order_by(AuditEntry.id)))
    assert actions == ["payment_link.created", "payment_link.updated"]
