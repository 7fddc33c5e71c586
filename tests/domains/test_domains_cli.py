"""``ownpay domains add|list|verify|primary|remove``: the API's checks and answers from the
command line against the loopback DNS server, audited; another brand's domain is not
found; a bad name is one line on stderr and exit 1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from tests.support.commands import in_process
from tests.support.dns import Zone
from tests.support.factories import create_merchant
from tests.support.settings import SECRET_KEY

pytestmark = pytest.mark.api


async def cli(ctx: Any, *args: str) -> Any:
    s = ctx.settings
    env = {"OWNPAY_DATABASE_URL": s.resolved_database_url, "OWNPAY_DATA_DIR": str(s.data_dir),
           "OWNPAY_SECRET_KEY": SECRET_KEY, "OWNPAY_BASE_URL": s.base_url,
           "OWNPAY_PUBLIC_ADDRESSES": ",".join(s.public_addresses),
           "OWNPAY_DNS_NAMESERVERS": ",".join(s.dns_nameservers), "OWNPAY_DNS_TIMEOUT": "0.5"}
    return await asyncio.to_thread(in_process, env, *args)


async def test_domains_through_the_cli(ctx: Any, zone: Zone) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    name = f"pay-{shop.id}.cli.example"
    added = await cli(ctx, "domains", "add", name.upper(), "--merchant", shop.slug)
    assert added.exit_code == 0, added.stderr
    assert f"_ownpay-verification.{name}  TXT  ownpay-verify-" in added.stdout
    assert f"{name}  A  203.0.113.7" in added.stdout
    shown = json.loads((await cli(ctx, "domains", "list", "--merchant", shop.slug,
                                  "--json")).stdout)
    [made] = shown
    assert made["status"] == "pending"
    early = await cli(ctx, "domains", "verify", name, "--merchant", shop.slug)
    assert early.exit_code == 1 and "does not exist" in early.stdout
    zone.prove(name, made["verification_token"])
    ok = await cli(ctx, "domains", "verify", made["id"], "--merchant", shop.slug, "--json")
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["status"] == "verified"
    primary = await cli(ctx, "domains", "primary", name, "--merchant", shop.slug)
    assert primary.exit_code == 0 and "verified  " + name + " primary" in primary.stdout

    for command in ("verify", "primary", "remove"):
        stranger = await cli(ctx, "domains", command, name, "--merchant", other.slug)
        assert stranger.exit_code == 1 and "Domain not found." in stranger.stderr
    bad = await cli(ctx, "domains", "add", "203.0.113.9", "--merchant", shop.slug)
    assert bad.exit_code == 1 and "not an IP address" in bad.stderr
    taken = await cli(ctx, "domains", "add", name, "--merchant", other.slug)
    assert taken.exit_code == 1 and "already in use" in taken.stderr

    gone = await cli(ctx, "domains", "remove", name, "--merchant", shop.slug)
    assert gone.exit_code == 0 and f"removed {name}" in gone.stdout
    assert (await cli(ctx, "domains", "list", "--merchant", shop.slug)).stdout.strip() == \
        "no domains"
    async with ctx.sessions() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_id == made["id"]).order_by(AuditEntry.id)))
    assert actions == ["domain.added", "domain.checked", "domain.checked", "domain.primary",
                       "domain.removed"]
