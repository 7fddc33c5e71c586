"""``ownpay customers create|list|show|update|forget``: the API's checks and answers from
the command line, audited without PII; another brand's customer is not found."""

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


async def test_customers_through_the_cli(ctx: Any, client: httpx.AsyncClient) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    made = await cli(ctx, "customers", "create", "--merchant", shop.slug, "--mode", "test",
                     "--name", "Rafiq Islam", "--email", "rafiq@example.com", "--phone",
                     "0171 111 2222", "--metadata", '{"tier": "gold"}', "--json")
    assert made.exit_code == 0, made.stderr
    customer = json.loads(made.stdout)
    assert (customer["phone"], customer["metadata"]) == ("+8801711112222", {"tier": "gold"})
    api = await client.get(f"/api/v1/customers/{customer['id']}", headers=shop.auth())
    assert api.json() == customer

    for args, words in ((("--email", "RAFIQ@example.com"), "Another customer"),
                        (("--phone", "০১৭১১১১২২২২"), "valid phone"),
                        (("--metadata", "{nope"), "--metadata is one JSON object")):
        bad = await cli(ctx, "customers", "create", "--merchant", shop.slug, "--mode", "test",
                        *args)
        assert bad.exit_code == 1 and words in bad.stderr, (args, bad.stderr)

    found = await cli(ctx, "customers", "list", "--merchant", shop.slug, "--mode", "test",
                      "--phone", "+8801711112222")
    assert found.exit_code == 0 and customer["id"] in found.stdout
    assert "Rafiq Islam" in found.stdout
    changed = await cli(ctx, "customers", "update", customer["id"], "--merchant", shop.slug,
                        "--mode", "test", "--name", "Rafiq I.", "--json")
    assert changed.exit_code == 0 and json.loads(changed.stdout)["name"] == "Rafiq I."
    shown = await cli(ctx, "customers", "show", customer["id"], "--merchant", shop.slug,
                      "--mode", "test")
    assert "email: rafiq@example.com" in shown.stdout
    theirs = await cli(ctx, "customers", "show", customer["id"], "--merchant", other.slug,
                       "--mode", "test")
    assert theirs.exit_code == 1 and "not found" in theirs.stderr
    gone = await cli(ctx, "customers", "forget", customer["id"], "--merchant", shop.slug,
                     "--mode", "test", "--json")
    assert gone.exit_code == 0 and json.loads(gone.stdout)["email"] is None
    async with ctx.sessions() as s:
        rows = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.object_id == customer["id"]).order_by(AuditEntry.id)))
    assert [r.action for r in rows] == ["customer.created", "customer.updated",
                                        "customer.forgotten"]
    assert "rafiq" not in repr([r.changes for r in rows]).lower()
