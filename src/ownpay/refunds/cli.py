"""``ownpay refunds …``: create, list and settle refunds from the command line.

The operator is not a tenant: commands name a payment or refund id (its merchant and mode
follow from it) or filter by ``--merchant``/``--mode``, then go through the same service
functions as the API.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import (
    Commands,
    DataOpt,
    DbOpt,
    JsonOpt,
    amount_text,
    out,
    run_async,
    settings_from,
)

refunds_app: typer.Typer = Commands(help="Refunds of paid payments.", no_args_is_help=True)


def _print(row: dict[str, Any]) -> None:
    pending = f" ({row['pending_reason']})" if row.get("pending_reason") else ""
    amount = amount_text(row["amount"], row["currency"])
    typer.echo(f"{row['id']}  {row['transaction_id']}  {row['mode']:<4}  {amount}  "
               f"{row['status']}{pending}  {row['created_at']}")


@refunds_app.command("create")
def create(txn: Annotated[str, typer.Argument(metavar="TXN", help="The payment to refund.")],
           amount: Annotated[str | None, typer.Option(
               help="Major units, e.g. 12.50 (default: all that is still refundable).")] = None,
           reason: Annotated[str | None, typer.Option()] = None,
           as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Refund a paid payment through its gateway (offline gateways: confirm it later)."""
    from ownpay.refunds import flows
    from ownpay.refunds.presenters import serialize_refund

    async def go(ctx: Any) -> dict[str, Any]:
        refund = await flows.create_for_operator(ctx, transaction_id=txn, amount=amount,
                                                 reason=reason, audited=audit.cli_actor())
        return serialize_refund(refund)

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: _print(result))


@refunds_app.command("list")
def list_(merchant: Annotated[str | None, typer.Option(help="Merchant slug (default all).")] = None,
          mode: Annotated[str | None, typer.Option(help="test or live (default both).")] = None,
          txn: Annotated[str | None, typer.Option("--transaction", help="One payment's.")] = None,
          status: Annotated[str | None, typer.Option(help="pending, completed or failed.")] = None,
          limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
          as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """List refunds, newest first."""
    from ownpay.merchants import service as merchants
    from ownpay.refunds import repository
    from ownpay.refunds.presenters import serialize_refund

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            merchant_id = (await merchants.get_merchant(s, merchant)).id if merchant else None
            rows = await repository.operator_page(
                s, merchant_id=merchant_id, mode=merchants.check_mode(mode) if mode else None,
                filters=repository.RefundFilters(transaction_id=txn, status=status),
                limit=limit,
            )
            return [serialize_refund(r) for r in rows]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for row in rows:
            _print(row)
        if not rows:
            typer.echo("no refunds")

    out(rows, as_json, human)


def _decide(refund_id: str, confirm: bool, reason: str | None, as_json: bool,
            database_url: str | None, data_dir: str | None) -> None:
    from ownpay.refunds import flows, repository

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s:
            scope = await repository.operator_scope(s, refund_id)
        refund = await flows.settle_by_operator(
            ctx, scope, refund_id, confirm=confirm, reason=reason, actor="operator:cli",
            audited=audit.cli_actor(),
        )
        return await flows.detail(ctx, refund)

    result = run_async(settings_from(database_url, data_dir), go)
    said = f" ({reason})" if reason else ""
    out(result, as_json, lambda: typer.echo(f"{result['id']} is now {result['status']}{said}"))


@refunds_app.command("confirm")
def confirm(refund_id: Annotated[str, typer.Argument(metavar="REFUND_ID")],
            reason: Annotated[str | None, typer.Option(
                help="Kept in the refund's and the payment's history.")] = None,
            as_json: JsonOpt = False,
            database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Confirm an offline refund awaiting an operator (→ completed)."""
    _decide(refund_id, True, reason, as_json, database_url, data_dir)


@refunds_app.command("fail")
def fail(refund_id: Annotated[str, typer.Argument(metavar="REFUND_ID")],
         reason: Annotated[str | None, typer.Option(
             help="The refund's failure reason, also in its history and refund.failed.")] = None,
         as_json: JsonOpt = False,
         database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Fail an offline refund awaiting an operator (→ failed; the amount is refundable again)."""
    _decide(refund_id, False, reason, as_json, database_url, data_dir)
