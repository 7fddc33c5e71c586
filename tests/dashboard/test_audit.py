"""The audit log's hash chain: an edited, a deleted and a reordered row are each found and
named (by the dashboard and by ``ownpay audit verify``, which exits 1); secrets never reach
a row.  Each test works on a database of its own: tampering is destructive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from ownpay import audit
from ownpay.audit import Actor
from ownpay.audit.models import AuditEntry
from ownpay.context import AppContext
from ownpay.migrate import upgrade
from tests.support.commands import in_process
from tests.support.databases import throwaway_database
from tests.support.settings import SECRET_KEY, make_settings

pytestmark = pytest.mark.api
ACTOR = Actor(type="user", name="ops@example.com", role="owner", ip="203.0.113.9")


@pytest.fixture
async def chain(backend: str, tmp_path: Path) -> AsyncIterator[tuple[AppContext, list[int]]]:
    async with throwaway_database(backend, tmp_path) as url:
        ctx = AppContext.create(make_settings(url, tmp_path))
        await upgrade(ctx.engine)
        async with ctx.sessions() as s, s.begin():
            for i in range(5):
                await audit.record(s, ACTOR, "thing.changed", object_type="thing",
                                   object_id=i, details={"n": {"before": i, "after": i + 1}})
            ids = list(await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
        try:
            yield ctx, ids
        finally:
            await ctx.close()


async def verdict(ctx: AppContext) -> audit.Verdict:
    async with ctx.sessions() as s:
        return await audit.verify(s)


async def cli_verify(ctx: AppContext) -> Any:
    env: dict[str, str | None] = {
        "OWNPAY_DATABASE_URL": ctx.settings.resolved_database_url,
        "OWNPAY_DATA_DIR": str(ctx.settings.data_dir), "OWNPAY_SECRET_KEY": SECRET_KEY}
    return await asyncio.to_thread(in_process, env, "audit", "verify")


async def test_an_untouched_chain_verifies(chain: Any) -> None:
    ctx, ids = chain
    v = await verdict(ctx)
    assert v.ok and v.rows == len(ids) and len(v.head) == 64
    result = await cli_verify(ctx)
    assert result.exit_code == 0 and f"intact: {len(ids)} rows, head {v.head}" in result.stdout


async def test_an_edited_row_is_named(chain: Any) -> None:
    ctx, ids = chain
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(AuditEntry).where(AuditEntry.id == ids[2])
                        .values(actor="someone-else@example.com"))
    v = await verdict(ctx)
    assert not v.ok and v.broken_id == ids[2] and "changed" in (v.problem or "")
    result = await cli_verify(ctx)
    assert result.exit_code == 1 and f"row {ids[2]} was changed" in result.stdout


async def test_a_deleted_row_is_named(chain: Any) -> None:
    ctx, ids = chain
    async with ctx.sessions() as s, s.begin():
        await s.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
    v = await verdict(ctx)
    assert not v.ok and v.broken_id == ids[2] and "deleted" in (v.problem or "")
    assert (await cli_verify(ctx)).exit_code == 1


async def test_reordered_rows_are_named(chain: Any) -> None:
    ctx, ids = chain
    async with ctx.sessions() as s, s.begin():
        rows = {r.id: r for r in await s.scalars(select(AuditEntry))}
        a, b = rows[ids[3]], rows[ids[4]]
        fields = ("at", "actor", "action", "object_id", "changes", "prev_hash", "hash")
        values_a = {f: getattr(a, f) for f in fields}
        values_b = {f: getattr(b, f) for f in fields}
        await s.execute(update(AuditEntry).where(AuditEntry.id == a.id)
                        .values(hash="x" * 64))  # free the unique hash for the swap
        await s.execute(update(AuditEntry).where(AuditEntry.id == b.id).values(**values_a))
        await s.execute(update(AuditEntry).where(AuditEntry.id == a.id).values(**values_b))
    v = await verdict(ctx)
    assert not v.ok and v.broken_id == ids[3]


async def test_secrets_are_redacted_before_they_are_written(chain: Any) -> None:
    ctx, _ids = chain
    async with ctx.sessions() as s, s.begin():
        await audit.record(s, ACTOR, "gateway.configured", details={
            "client_secret": "sk_live_do_not_store", "display_name": "Cards",
            "credentials": {"password": "hunter2hunter2"}, "api_key": "op_live_x"})
        row = await s.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    text = str(row.changes)
    assert "sk_live_do_not_store" not in text and "hunter2" not in text and "op_live_x" not in text
    assert row.changes["display_name"] == "Cards"
    assert (await verdict(ctx)).ok
