"""Refunds follow the payments invariant: one compare-and-set moves a refund's status and
stage (``refunds/steps.py`` ``transition``), each move leaves a history row, and the
payment row's refund and fee columns are written only by the payments service."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest
from sqlalchemy import select

from ownpay.db import utcnow
from ownpay.refunds import states, steps
from ownpay.refunds.models import Refund, RefundStatusHistory
from tests.support.checkout import paid
from tests.support.factories import MerchantKeys

SRC = Path(__file__).resolve().parents[2] / "src" / "ownpay"
STATES = list(itertools.product(states.STATUSES, states.STAGES))


async def _history(ctx, refund_id: str) -> list[tuple[str | None, str | None, str, str, str]]:
    async with ctx.sessions() as s:
        rows = await s.scalars(select(RefundStatusHistory)
                               .where(RefundStatusHistory.refund_id == refund_id)
                               .order_by(RefundStatusHistory.id))
        return [(r.from_status, r.from_stage, r.to_status, r.to_stage, r.actor) for r in rows]


async def test_an_offline_refund_leaves_every_step_in_its_history(
    client, ctx, merchant: MerchantKeys
) -> None:
    txn = await paid(client, merchant, "10.00", gateway="manual")
    r = await client.post("/api/v1/refunds", json={"transaction_id": txn, "reason": "broken"},
                          headers=merchant.auth())
    assert r.status_code == 201 and r.json()["pending_reason"] == "awaiting_operator", r.text
    refund_id = r.json()["id"]
    confirmed = await client.post(f"/api/v1/refunds/{refund_id}/confirm",
                                  json={"reason": "sent back by bank transfer"},
                                  headers=merchant.auth())
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "completed"
    actor = next(iter({a for *_, a in await _history(ctx, refund_id) if "merchant" in a}))
    operator = actor.replace("merchant:", "operator:")
    assert await _history(ctx, refund_id) == [
        (None, None, "pending", "queued", actor),
        ("pending", "queued", "pending", "sending", actor),
        ("pending", "sending", "pending", "processing", actor),
        ("pending", "processing", "completed", "settled", operator),
    ]
    async with ctx.sessions() as s:
        reason = await s.scalar(select(RefundStatusHistory.reason)
                                .where(RefundStatusHistory.refund_id == refund_id,
                                       RefundStatusHistory.to_status == "completed"))
    assert reason == "sent back by bank transfer"


@pytest.mark.parametrize(("before", "after"), [
    (a, b) for a, b in itertools.product(STATES, STATES) if not states.is_allowed(a, b)])
async def test_every_move_the_table_forbids_is_refused(ctx, before, after) -> None:
    async with ctx.sessions() as s, s.begin():
        with pytest.raises(steps.IllegalRefundTransition):
            await steps.transition(s, "rf_0000000000000000", expected=before, to=after,
                                   actor="test", now=utcnow())


async def test_a_move_from_a_state_the_refund_is_not_in_changes_nothing(
    client, ctx, merchant: MerchantKeys
) -> None:
    txn = await paid(client, merchant, "5.00", gateway="manual")
    r = await client.post("/api/v1/refunds", json={"transaction_id": txn},
                          headers=merchant.auth())
    refund_id = r.json()["id"]  # pending/processing now
    async with ctx.sessions() as s, s.begin():
        moved = await steps.transition(s, refund_id, expected=("pending", "sending"),
                                       to=("failed", "settled"), actor="test", now=utcnow())
    assert moved is None
    async with ctx.sessions() as s:
        refund = await s.get(Refund, refund_id)
    assert refund is not None and (refund.status, refund.stage) == ("pending", "processing")
    assert len(await _history(ctx, refund_id)) == 3


def _assigned_names(tree: ast.AST) -> set[str]:
    """Columns a module writes: keywords of SQL ``.values(…)``, keys of a ``values={…}``
    argument, and attribute assignments (``row.stage = …``).  A new refund's constructor
    (``Refund(…, stage=…)``) is not a write: ``steps.add`` checks it against the machine's
    initial states."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "values":
                found.update(k.arg for k in node.keywords if k.arg)
            for k in node.keywords:
                if k.arg == "values" and isinstance(k.value, ast.Dict):
                    found.update(key.value for key in k.value.keys
                                 if isinstance(key, ast.Constant) and isinstance(key.value, str))
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update(t.attr for t in targets if isinstance(t, ast.Attribute))
    return found


@pytest.mark.parametrize(("columns", "owners"), [
    ({"refunded_minor", "refund_reserved_minor", "fee_minor", "net_minor"},
     {"payments/service.py", "payments/refunding.py"}),
    ({"stage"}, {"refunds/steps.py", "refunds/models.py"}),
])
def test_only_the_owner_writes_these_columns(columns: set[str], owners: set[str]) -> None:
    writers = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
        and columns & _assigned_names(ast.parse(path.read_text()))
    }
    assert writers <= owners, writers - owners
