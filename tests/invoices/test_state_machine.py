"""The invoice's one status writer (``invoices/service.py transition``): every move the
table does not list is refused, a move from a status the invoice is no longer in changes
nothing, each move writes its history row; and the worker's ``overdue_invoices`` step sends
``invoice.overdue`` once per open invoice past its due date."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay import worker
from ownpay.invoices import service, states
from ownpay.invoices.models import InvoiceStatusHistory
from ownpay.outbox.models import OutboxEvent
from tests.support.factories import create_merchant

pytestmark = pytest.mark.api
ILLEGAL = [pair for pair in itertools.product(states.STATUSES, repeat=2)
           if pair not in states.ALLOWED]


def test_the_table_is_the_documented_one() -> None:
    assert states.ALLOWED == {("draft", "open"), ("open", "paid"), ("open", "void"),
                              ("open", "uncollectible")}


@pytest.mark.parametrize(("expected", "to"), ILLEGAL)
async def test_moves_the_table_does_not_list_are_refused(ctx: Any, expected: str,
                                                         to: str) -> None:
    async with ctx.sessions() as s, s.begin():
        with pytest.raises(service.IllegalTransition):
            await service.transition(s, invoice_id="inv_x", merchant_id=1, expected=expected,
                                     to=to, actor="test")


async def test_a_move_from_a_stale_status_changes_nothing(client: httpx.AsyncClient,
                                                          ctx: Any) -> None:
    shop = await create_merchant(ctx)
    r = await client.post("/api/v1/invoices", headers=shop.auth(), json={
        "currency": "USD", "lines": [{"description": "Tea", "unit_price": "5"}]})
    invoice_id = r.json()["id"]
    async with ctx.sessions() as s, s.begin():
        moved = await service.transition(s, invoice_id=invoice_id, merchant_id=shop.id,
                                         expected="draft", to="open", actor="test:first",
                                         reason="sent")
        assert moved is not None and moved.status == "open" and moved.finalized_at
        # A second writer that still thinks it is a draft loses the compare-and-set.
        assert await service.transition(s, invoice_id=invoice_id, merchant_id=shop.id,
                                        expected="draft", to="open",
                                        actor="test:second") is None
        # Another brand's id never moves.
        assert await service.transition(s, invoice_id=invoice_id, merchant_id=shop.id + 999,
                                        expected="open", to="void", actor="test") is None
    async with ctx.sessions() as s:
        rows = list(await s.scalars(select(InvoiceStatusHistory).where(
            InvoiceStatusHistory.invoice_id == invoice_id)))
    assert [(h.from_status, h.to_status, h.actor, h.reason) for h in rows] == [
        ("draft", "open", "test:first", "sent")]


async def test_overdue_is_sent_once_for_open_invoices_past_their_due_date(
        client: httpx.AsyncClient, ctx: Any) -> None:
    shop = await create_merchant(ctx)
    made = {}
    for name, due in (("late", "2020-01-01"), ("future", "2099-01-01"), ("draft", "2020-01-01"),
                      ("void", "2020-01-01"), ("undated", None)):
        r = await client.post("/api/v1/invoices", headers=shop.auth(), json={
            "currency": "USD", "lines": [{"description": name, "unit_price": "5"}],
            "due_date": due})
        assert r.status_code == 201, r.text
        made[name] = r.json()["id"]
        if name != "draft":
            assert (await client.post(f"/api/v1/invoices/{made[name]}/finalize",
                                      headers=shop.auth())).status_code == 200
    await client.post(f"/api/v1/invoices/{made['void']}/void", headers=shop.auth())

    await worker.run_once(ctx)  # the step runs in the worker's pass
    await worker.overdue_invoices(ctx)  # and again: nothing more
    async with ctx.sessions() as s:
        events = list(await s.scalars(select(OutboxEvent).where(
            OutboxEvent.type == "invoice.overdue", OutboxEvent.merchant_id == shop.id)))
    # (The session's live server runs a worker on the same database: it may have sent the
    # void invoice's while it was open for a moment; never twice, never the others'.)
    sent = [e.payload["invoice"]["id"] for e in events]
    assert sent.count(made["late"]) == 1 and sent.count(made["void"]) <= 1, sent
    assert not {made["future"], made["draft"], made["undated"]} & set(sent), sent
    [event] = [e for e in events if e.payload["invoice"]["id"] == made["late"]]
    assert event.payload["invoice"]["status"] == "open"
    assert event.payload["invoice"]["due_date"] == "2020-01-01"
    assert event.payload["invoice"]["amount_due"] == "5.00"
    assert event.payload["transaction_id"] is None and event.payload["event"] == (
        "invoice.overdue")
    got = (await client.get(f"/api/v1/invoices/{made['late']}", headers=shop.auth())).json()
    assert got["status"] == "open"  # overdue is an event, not a status
