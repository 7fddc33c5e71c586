"""CSV export on both engines: shape, RFC 4180 quoting, formula-injection safety, the same
rows as the listing, streaming in keyset batches (constant memory), a real server process,
and ``ownpay transactions export``."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from ownpay.context import AppContext
from ownpay.transactions.export import HEADER, safe_cell
from ownpay.transactions.service import EXPORT_BATCH
from tests.support.commands import ownpay_cli
from tests.support.factories import create_merchant, intent_body
from tests.support.processes import ServerProcess, server_env
from tests.support.transactions import BASE, Where, World, insert_specs, spec, walk

EXPORT = "/api/v1/transactions/export"


def parse(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


async def export(client: httpx.AsyncClient, headers: dict[str, str],
                 params: Any = None) -> httpx.Response:
    r = await client.get(EXPORT, params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    return r


async def test_export_has_the_listing_rows_and_values(
    client: httpx.AsyncClient, world: World,
) -> None:
    r = await export(client, world.a.auth())
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="transactions-test-')
    assert disposition.endswith('.csv"')
    rows = parse(r.content)
    assert tuple(rows[0]) == HEADER
    items = await walk(client, world.a, {"limit": 100})
    assert [row[0] for row in rows[1:]] == [t["transaction_id"] for t in items]
    assert [row[0] for row in rows[1:]] == world.expected()
    for row, item in zip(rows[1:], items, strict=True):
        cells = dict(zip(HEADER, row, strict=True))
        assert cells["created_at"] == item["created_at"]
        assert cells["paid_at"] == (item["paid_at"] or "")
        for name in ("status", "mode", "gateway", "currency", "order_id"):
            assert cells[name] == item[name], name
        for name in ("amount", "fee", "net_amount", "refunded_amount"):
            expected = "" if item[name] is None else item[name]
            assert (cells[name] and float(cells[name])) == (expected and float(expected)), name
        assert cells["customer_email"] == item["customer"]["email"]
        assert cells["customer_name"] == item["customer"]["name"]
    by_id = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    partial = next(s for s in world.specs if s.status == "partially_refunded")
    got = by_id[partial.id]
    # Exact decimal text in major units, never floats.
    assert (got["amount"], got["fee"], got["net_amount"], got["refunded_amount"]) == (
        "50.00", "1.75", "48.25", "12.50")
    jpy = next(s for s in world.specs if s.currency == "JPY" and s.mode == "test"
               and s.merchant_id == world.a.id)
    assert by_id[jpy.id]["amount"] == str(jpy.amount_minor)
    kwd = next(s for s in world.specs if s.currency == "KWD" and s.merchant_id == world.a.id)
    assert by_id[kwd.id]["amount"] == "1.234"
    with_meta = next(s for s in world.specs if s.metadata and s.merchant_id == world.a.id
                     and s.mode == "test")
    assert with_meta.metadata is not None
    assert by_id[with_meta.id]["metadata"] == f'{{"i":"{with_meta.metadata["i"]}"}}'


@pytest.mark.parametrize(("params", "where"), [
    ({"status": "completed,refunded"}, lambda s: s.status in ("completed", "refunded")),
    ({"customer_email": "JANE@EXAMPLE.COM", "gateway": "sandbox"},
     lambda s: s.customer_email.lower() == "jane@example.com" and s.gateway == "sandbox"),
    ({"currency": "USD", "amount_min": "10", "created_from": "2025-03-03T00:00:00Z"},
     lambda s: s.currency == "USD" and s.amount_minor >= 1000
     and s.created_at >= BASE.replace(day=3, hour=0, microsecond=0)),
])
async def test_export_applies_the_filters(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], where: Where,
) -> None:
    rows = parse((await export(client, world.a.auth(), params)).content)
    assert [row[0] for row in rows[1:]] == world.expected(where=where)
    assert rows[1:], "the filter should select something"


async def test_export_is_scoped_to_merchant_and_mode(
    client: httpx.AsyncClient, world: World,
) -> None:
    live = parse((await export(client, world.a.auth("live"))).content)
    assert [row[0] for row in live[1:]] == world.expected(mode="live")
    other = parse((await export(client, world.b.auth())).content)
    assert [row[0] for row in other[1:]] == world.expected(world.b)


async def test_export_validation_errors_use_the_envelope(
    client: httpx.AsyncClient, world: World,
) -> None:
    r = await client.get(EXPORT, params={"amount_min": "5", "status": "nope", "limit": "5",
                                         "created_to": "soon"}, headers=world.a.auth())
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR" and body["error"] is True
    assert set(body["errors"]) == {"amount_min", "status", "limit", "created_to"}
    assert body["errors"]["limit"] == ["Unknown parameter."]  # an export is never paginated


async def test_empty_export_is_just_the_header(client: httpx.AsyncClient, ctx: AppContext) -> None:
    m = await create_merchant(ctx)
    r = await export(client, m.auth())
    assert r.content == (",".join(HEADER) + "\r\n").encode()


TRICKY = {
    "comma": "ORD,1",
    "quote": 'say "hi"',
    "newline": "line1\nline2",
    "formula": "=HYPERLINK(\"http://evil\",\"x\")",
    "plus": "+1-555-0100",
    "minus": "-2+3",
    "at": "@SUM(A1:A2)",
}


async def test_quoting_and_formula_injection(client: httpx.AsyncClient, ctx: AppContext) -> None:
    m = await create_merchant(ctx)
    made: dict[str, str] = {}
    for name, value in TRICKY.items():
        r = await client.post("/api/v1/payment-intents", headers=m.auth(), json=intent_body(
            order_id=f"{name}-{value}"[:100] if name != "formula" else value,
            customer_name=value, description=value, metadata={"note": value}))
        assert r.status_code == 201, r.text
        made[r.json()["transaction_id"]] = value
    # The API strips leading whitespace; data from elsewhere may still start with TAB or CR.
    raw = [spec(m, BASE, order_id="\tTAB", customer_name="\rCR", description="\t=1+1"),
           spec(m, BASE, order_id="ok=fine", customer_name="Ann-Marie", description="a@b")]
    await insert_specs(ctx, raw)
    body = (await export(client, m.auth())).content
    text = body.decode()
    assert text.startswith(",".join(HEADER) + "\r\n")
    assert body.endswith(b"\r\n")
    # RFC 4180: quotes doubled inside a quoted field; a newline inside a field is quoted.
    assert '"say ""hi"""' in text and '"line1\nline2"' in text
    assert '"comma-ORD,1"' in text
    rows = {row[0]: dict(zip(HEADER, row, strict=True)) for row in parse(body)[1:]}
    for txn, value in made.items():
        cells = rows[txn]
        shown = safe_cell(value)
        assert cells["customer_name"] == shown and cells["description"] == shown
        assert cells["metadata"].startswith("{")  # JSON: never a formula
    assert rows[next(t for t, v in made.items() if v.startswith("="))]["customer_name"] == (
        "'=HYPERLINK(\"http://evil\",\"x\")")
    assert rows[next(t for t, v in made.items() if v.startswith("+"))]["order_id"] == (
        "plus-+1-555-0100")  # only a leading trigger counts
    assert rows[next(t for t, v in made.items() if v.startswith("@"))]["customer_name"] == (
        "'@SUM(A1:A2)")
    tab, plain = rows[raw[0].id], rows[raw[1].id]
    assert (tab["order_id"], tab["customer_name"], tab["description"]) == (
        "'\tTAB", "'\rCR", "'\t=1+1")
    assert (plain["order_id"], plain["customer_name"], plain["description"]) == (
        "ok=fine", "Ann-Marie", "a@b")
    for row in parse(body)[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


class Wire:
    """What happened, in order, while the app served one request: each listing SELECT the
    engine sent (with its LIMIT) and each ASGI body message the app sent.

    httpx's ASGI transport joins a streamed body into one chunk, so the request is driven
    here with the bare ASGI protocol to see the messages themselves.
    """

    def __init__(self, ctx: AppContext) -> None:
        self.engine = ctx.engine.sync_engine
        self.log: list[tuple[str, Any]] = []
        self.body = b""
        self.status = 0

    def on_query(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                 context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM payment_intents" in (
                statement) and "ORDER BY payment_intents.created_at DESC" in statement:
            values = list(parameters)
            if "OFFSET" in statement:  # SQLite's dialect renders LIMIT ? OFFSET ? (0)
                assert values.pop() == 0
            self.log.append(("query", values[-1]))

    async def get(self, app: Any, path: str, headers: dict[str, str]) -> None:
        done = asyncio.Event()
        sent_request = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                self.body += chunk
                if chunk:
                    self.log.append(("body", len(chunk)))
                if not message.get("more_body"):
                    done.set()

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "server": ("pay.test", 80),
            "client": ("127.0.0.1", 50000),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        event.listen(self.engine, "before_cursor_execute", self.on_query)
        try:
            await asyncio.wait_for(app(scope, receive, send), timeout=120)
        finally:
            event.remove(self.engine, "before_cursor_execute", self.on_query)


async def test_export_streams_in_keyset_batches(ctx: AppContext, app: Any) -> None:
    m = await create_merchant(ctx)
    count = 5 * EXPORT_BATCH + 123
    # 97 distinct creation times: many ties, so batches also end inside a tie.
    specs = [spec(m, BASE + timedelta(hours=i % 97), amount_minor=100 + i,
                  description="x" * 40) for i in range(count)]
    await insert_specs(ctx, specs)
    wire = Wire(ctx)
    await wire.get(app, EXPORT, m.auth())
    assert wire.status == 200
    rows = parse(wire.body)[1:]
    assert len(rows) == count and len({row[0] for row in rows}) == count
    assert [row[0] for row in rows] == [s.id for s in sorted(specs, key=lambda s: s.key(),
                                                             reverse=True)]
    batches = math.ceil(count / EXPORT_BATCH)
    # The header goes out first; then each database round trip asks for one batch and that
    # batch is sent before the next round trip: the server never holds more than
    # EXPORT_BATCH rows, whatever the row count (here 6 round trips for 2,623 rows).
    assert [kind for kind, _ in wire.log] == ["body"] + ["query", "body"] * batches
    assert [n for kind, n in wire.log if kind == "query"] == [EXPORT_BATCH] * batches
    sizes = [n for kind, n in wire.log if kind == "body"]
    assert max(sizes) < len(wire.body) / 4


@pytest.mark.slow
async def test_a_real_server_streams_the_export_chunked(
    ctx: AppContext, world: World, live_server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        async with http.stream("GET", EXPORT, headers=world.a.auth(),
                               params={"status": "completed"}) as r:
            assert r.status_code == 200
            assert r.headers.get("transfer-encoding") == "chunked"
            assert "content-length" not in r.headers
            body = b"".join([chunk async for chunk in r.aiter_bytes()])
    rows = parse(body)
    assert tuple(rows[0]) == HEADER
    assert [row[0] for row in rows[1:]] == world.expected(where=lambda s: s.status == "completed")


def leftovers(directory: Path) -> list[str]:
    """Partial files an export left behind (there must be none)."""
    return [name for name in os.listdir(directory) if name.endswith(".part")]


@pytest.mark.slow
@pytest.mark.e2e
async def test_cli_export(
    client: httpx.AsyncClient, world: World, database_url: str, tmp_path: Path,
) -> None:
    env = server_env(database_url, tmp_path)
    target = tmp_path / "out.csv"
    args = ("transactions", "export", "--merchant", world.a.slug, "--mode", "test",
            "--status", "completed", "--status", "refunded,partially_refunded",
            "--currency", "USD", "--amount-min", "10.00")
    done = ownpay_cli(env, *args, "--output", str(target))
    assert done.returncode == 0, done.stderr
    http = await export(client, world.a.auth(), [
        ("status", "completed"), ("status", "refunded,partially_refunded"),
        ("currency", "USD"), ("amount_min", "10.00")])
    assert target.read_bytes() == http.content
    expected = world.expected(where=lambda s: s.status in (
        "completed", "refunded", "partially_refunded") and s.currency == "USD"
        and s.amount_minor >= 1000)
    assert [row[0] for row in parse(target.read_bytes())[1:]] == expected and expected
    assert f"exported {len(expected)} transactions" in done.stderr
    assert leftovers(tmp_path) == []

    to_stdout = ownpay_cli(env, "transactions", "export", "--merchant", world.a.slug,
                           "--mode", "live")
    assert to_stdout.returncode == 0, to_stdout.stderr
    live = parse(to_stdout.stdout.encode())
    assert tuple(live[0]) == HEADER and [r[0] for r in live[1:]] == world.expected(mode="live")

    bad = ownpay_cli(env, "transactions", "export", "--merchant", world.a.slug, "--mode",
                     "test", "--amount-max", "5", "--created-from", "nope", "--output",
                     str(tmp_path / "bad.csv"), check=False)
    assert bad.returncode == 1
    assert "amount_max" in bad.stderr and "created_from" in bad.stderr
    assert "bad.csv" not in os.listdir(tmp_path) and leftovers(tmp_path) == []

    unknown = ownpay_cli(env, "transactions", "export", "--merchant", "no-such-shop",
                         "--mode", "test", check=False)
    assert unknown.returncode == 1 and "no-such-shop" in unknown.stderr
    wrong_mode = ownpay_cli(env, "transactions", "export", "--merchant", world.a.slug,
                            "--mode", "prod", check=False)
    assert wrong_mode.returncode == 1 and "mode" in wrong_mode.stderr.lower()


async def test_cell_formatting_matches_the_api_helpers() -> None:
    """The export formats amounts and times without Decimal or strftime (speed); it must
    agree exactly with ``money.to_major`` and ``timefmt.iso``."""
    from datetime import UTC, datetime, timezone

    from ownpay import money
    from ownpay.timefmt import iso
    from ownpay.transactions.export import _decimal_text, _utc_text

    samples = [0, 1, 9, 10, 99, 100, 101, 999, 1000, 1234, 99999, 100000, 123456789,
               10**15 + 7, 2**53 + 1]
    for currency in ("USD", "JPY", "KWD", "BDT"):
        for minor in samples:
            assert _decimal_text(minor, money.exponent(currency)) == str(
                money.to_major(minor, currency)), (currency, minor)
    assert _decimal_text(None, 2) == ""
    for value in (datetime(2025, 3, 1, 9, 0, 0, 999999, tzinfo=UTC),
                  datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
                  datetime(2025, 3, 1, 11, 0, 0, tzinfo=timezone(timedelta(hours=2)))):
        assert _utc_text(value) == iso(value)
    assert _utc_text(None) == ""
