"""``ownpay payments approve|reject``: an operator decides an offline payment."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from

payments_app = Commands(help="Operate on payments.", no_args_is_help=True)

def _review(txn: str, approve: bool, reason: str | None, as_json: bool, database_url: str | None,
            data_dir: str | None) -> None:
    from sqlalchemy import select

    from ownpay.payments import service
    from ownpay.payments.models import PaymentIntent

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            intent = await s.scalar(select(PaymentIntent).where(PaymentIntent.id == txn))
            if intent is None:
                fail(f"payment {txn} not found")
            assert intent is not None  # noqa: S101
            intent = await service.review_manual(s, intent, approve=approve, actor="operator:cli",
                                                 reason=reason)
            return {"transaction_id": intent.id, "status": intent.status}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json,
        lambda: typer.echo(f"{result['transaction_id']} is now {result['status']}"))


@payments_app.command("approve")
def payments_approve(txn: Annotated[str, typer.Argument(metavar="TXN")],
                     reason: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False,
                     database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Approve a manual payment awaiting verification (→ completed)."""
    _review(txn, True, reason, as_json, database_url, data_dir)


@payments_app.command("reject")
def payments_reject(txn: Annotated[str, typer.Argument(metavar="TXN")],
                    reason: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False,
                    database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Reject a manual payment awaiting verification (→ failed)."""
    _review(txn, False, reason, as_json, database_url, data_dir)


