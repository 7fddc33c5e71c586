"""``ownpay compat enable|disable|list`` against the real database (Typer's runner in a
thread): off by default, per merchant, mode and API; an unknown API or merchant is refused
and changes nothing."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import pytest

from ownpay.compat import switches
from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.tenancy import TenantScope
from tests.support.commands import in_process
from tests.support.processes import server_env

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


async def test_compat_switches_round_trip(ctx: AppContext, database_url: str,
                                          tmp_path: Path) -> None:
    env = {k: v for k, v in server_env(database_url, tmp_path / "data").items()
           if k.startswith("OWNPAY_")}

    async def cli(*args: str, code: int = 0) -> str:
        result = await asyncio.to_thread(in_process, env, *args)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return str(result.stdout) + str(result.stderr)

    slug = "cli-compat-" + secrets.token_hex(4)
    await cli("merchants", "create", "--slug", slug, "--name", "CLI Compat")
    listed = json.loads(await cli("compat", "list", "--merchant", slug, "--json"))
    assert {(r["api"], r["mode"], r["enabled"]) for r in listed} == {
        ("uddoktapay", "test", False), ("uddoktapay", "live", False),
        ("piprapay", "test", False), ("piprapay", "live", False)}

    out = await cli("compat", "enable", "uddoktapay", "--merchant", slug, "--mode", "live")
    assert "uddoktapay enabled" in out
    await cli("compat", "enable", "uddoktapay", "--merchant", slug, "--mode", "live")  # again
    async with ctx.sessions() as s:
        m = await merchants.get_merchant(s, slug)
        assert await switches.is_enabled(s, TenantScope(m.id, "live"), "uddoktapay")
        assert not await switches.is_enabled(s, TenantScope(m.id, "test"), "uddoktapay")
        assert not await switches.is_enabled(s, TenantScope(m.id, "live"), "piprapay")
    human = await cli("compat", "list", "--merchant", slug)
    assert "uddoktapay  live on" in human and "piprapay    live off" in human

    await cli("compat", "disable", "uddoktapay", "--merchant", slug, "--mode", "live")
    listed = json.loads(await cli("compat", "list", "--merchant", slug, "--json"))
    assert not any(r["enabled"] for r in listed)

    assert "unknown API" in await cli("compat", "enable", "stripe", "--merchant", slug,
                                      "--mode", "test", code=1)
    await cli("compat", "enable", "piprapay", "--merchant", "no-such-" + slug, "--mode",
              "test", code=1)
    await cli("compat", "enable", "piprapay", "--merchant", slug, "--mode", "prod", code=1)
    listed = json.loads(await cli("compat", "list", "--merchant", slug, "--json"))
    assert not any(r["enabled"] for r in listed)
