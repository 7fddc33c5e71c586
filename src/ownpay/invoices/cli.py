"""``ownpay invoices …``: invoices from the command line -- the same checks, the same
answers as ``/api/v1/invoices`` (``invoices/service.py``), audited as ``ownpay`` actions."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from

invoices_app: typer.Typer = Commands(
    help="Invoices: bills customers pay on their own page (with a PDF).",
    no_args_is_help=True)

MerchantOpt = Annotated[str, typer.Option(help="Merchant (brand) slug.")]
ModeOpt = Annotated[str, typer.Option(help="test or live.")]
InvoiceArg = Annotated[str, typer.Argument(help="inv_…")]
ReasonOpt = Annotated[str | None, typer.Option(help="Kept in the status history.")]
LineOpt = Annotated[list[str], typer.Option(
    "--line", help='A line item as JSON: {"description": "Iftar box", "quantity": "2", '
    '"unit_price": "450.00", "tax_rate": "5"}; repeatable.')]


def _lines(raw: list[str]) -> list[Any]:
    try:
        return [json.loads(item) for item in raw]
    except json.JSONDecodeError as exc:
        fail(f"--line is one JSON object each: {exc.msg}")


async def _run(ctx: Any, merchant: str, mode: str, work: Any) -> dict[str, Any]:
    from ownpay.invoices import service
    from ownpay.merchants import service as merchants
    from ownpay.merchants.accounts import public_base_url
    from ownpay.tenancy import TenantScope

    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant)
        scope = TenantScope(m.id, merchants.check_mode(mode))
        invoices, action = await work(s, scope)
        paying = await service.payments_of(s, [i.id for i in invoices])
        base = public_base_url(ctx, m.public_root)
        shown = [service.serialize(i, base_url=base, payments=paying.get(i.id, []))
                 for i in invoices]
        if action:
            await audit.record(s, audit.cli_actor(), action, merchant_id=m.id, mode=scope.mode,
                               object_type="invoice", object_id=invoices[0].id)
        return {"data": shown}


def _actor() -> str:
    actor = audit.cli_actor()
    return f"cli:{actor.name}"


def _line(invoice: dict[str, Any]) -> str:
    return (f"{invoice['id']}  {invoice['number']}  {invoice['status']:<13} "
            f"{invoice['total']} {invoice['currency']:<4} due {invoice['amount_due']:<10} "
            f"{invoice['url']}")


@invoices_app.command("create")
def invoices_create(
    merchant: MerchantOpt,
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")],
    line: LineOpt,
    customer_id: Annotated[str | None, typer.Option(help="A customer (cus_…).")] = None,
    customer_name: Annotated[str | None, typer.Option(help="Who is billed.")] = None,
    customer_email: Annotated[str | None, typer.Option(help="Their e-mail.")] = None,
    discount_amount: Annotated[str | None, typer.Option(help="Off the subtotal.")] = None,
    discount_rate: Annotated[str | None, typer.Option(help="% off the subtotal.")] = None,
    tax_rate: Annotated[str | None, typer.Option(help="% tax after the discount.")] = None,
    due_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD.")] = None,
    notes: Annotated[str | None, typer.Option(help="Shown on the page and PDF.")] = None,
    finalize: Annotated[bool, typer.Option(help="Finalise it at once (open).")] = False,
    mode: ModeOpt = "live", as_json: JsonOpt = False, database_url: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Make a draft invoice (or, with --finalize, an open one) and print its page's URL."""
    from ownpay.invoices import service, states

    given = {"currency": currency, "lines": _lines(line), "customer_id": customer_id,
             "customer_name": customer_name, "customer_email": customer_email,
             "discount_amount": discount_amount, "discount_rate": discount_rate,
             "tax_rate": tax_rate, "due_date": due_date, "notes": notes}
    body = {k: v for k, v in given.items() if v is not None}

    async def go(ctx: Any) -> dict[str, Any]:
        async def work(s: Any, scope: Any) -> Any:
            invoice = await service.create_invoice(s, ctx.keyring, scope, body,
                                                   max_minor=ctx.settings.max_amount_minor)
            if finalize:
                invoice = await service.move(s, scope, invoice.id, states.OPEN,
                                             actor=_actor())
            return [invoice], "invoice.created"
        return await _run(ctx, merchant, mode, work)

    shown = run_async(settings_from(database_url, data_dir), go)["data"][0]
    out(shown, as_json, lambda: typer.echo(_line(shown)))


@invoices_app.command("list")
def invoices_list(merchant: MerchantOpt, mode: ModeOpt = "live",
                  status: Annotated[str | None, typer.Option(
                      help="draft, open, paid, void or uncollectible.")] = None,
                  limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
                  as_json: JsonOpt = False, database_url: DbOpt = None,
                  data_dir: DataOpt = None) -> None:
    """The brand's invoices, newest first."""
    from ownpay.invoices import service, states

    if status is not None and status not in states.STATUSES:
        fail(f"--status is one of: {', '.join(states.STATUSES)}")

    async def go(ctx: Any) -> dict[str, Any]:
        async def work(s: Any, scope: Any) -> Any:
            rows, _ = await service.list_invoices(s, scope, limit=limit, starting_after=None,
                                                  status=status)
            return rows, None
        return await _run(ctx, merchant, mode, work)

    rows = run_async(settings_from(database_url, data_dir), go)["data"]
    out(rows, as_json, lambda: typer.echo("\n".join(_line(r) for r in rows) or "no invoices"))


@invoices_app.command("show")
def invoices_show(invoice_id: InvoiceArg, merchant: MerchantOpt, mode: ModeOpt = "live",
                  as_json: JsonOpt = False, database_url: DbOpt = None,
                  data_dir: DataOpt = None) -> None:
    """One invoice with its lines, totals and payments."""
    from ownpay.invoices import service

    async def go(ctx: Any) -> dict[str, Any]:
        async def work(s: Any, scope: Any) -> Any:
            return [await service.get_invoice(s, scope, invoice_id)], None
        return await _run(ctx, merchant, mode, work)

    shown = run_async(settings_from(database_url, data_dir), go)["data"][0]

    def text() -> None:
        typer.echo(_line(shown))
        for item in shown["lines"]:
            typer.echo(f"  {item['quantity']} × {item['unit_price']}  {item['description']}"
                       f"  = {item['total']}")
        typer.echo(f"  subtotal {shown['subtotal']}  discount {shown['discount']}  "
                   f"tax {shown['line_tax']} + {shown['tax']}  total {shown['total']}  "
                   f"paid {shown['amount_paid']}")
    out(shown, as_json, text)


def _mover(to: str, action: str) -> Any:
    def command(invoice_id: InvoiceArg, merchant: MerchantOpt, reason: ReasonOpt = None,
                mode: ModeOpt = "live", as_json: JsonOpt = False, database_url: DbOpt = None,
                data_dir: DataOpt = None) -> None:
        from ownpay.invoices import service

        async def go(ctx: Any) -> dict[str, Any]:
            async def work(s: Any, scope: Any) -> Any:
                moved = await service.move(s, scope, invoice_id, to, actor=_actor(),
                                           reason=reason)
                return [moved], action
            return await _run(ctx, merchant, mode, work)

        shown = run_async(settings_from(database_url, data_dir), go)["data"][0]
        out(shown, as_json, lambda: typer.echo(_line(shown)))
    return command


invoices_app.command("finalize", help="draft → open: the invoice is sent and can be paid.")(
    _mover("open", "invoice.open"))
invoices_app.command("void", help="open → void: issued by mistake; takes no payment.")(
    _mover("void", "invoice.void"))
invoices_app.command("mark-uncollectible", help="open → uncollectible: written off.")(
    _mover("uncollectible", "invoice.uncollectible"))
