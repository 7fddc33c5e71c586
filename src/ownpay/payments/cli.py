"""``ownpay payments show|approve|reject``: an operator looks at a payment (what the customer
submitted for an offline one included) and decides an offline payment."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from

payments_app = Commands(help="Operate on payments.", no_args_is_help=True)


@payments_app.command("show")
def payments_show(txn: Annotated[str, typer.Argument(metavar="TXN")], as_json: JsonOpt = False,
                  database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Show a payment of any merchant: amounts, customer, what they submitted, history.

    ``--json`` prints what ``GET /api/v1/payment-intents/{id}`` answers, plus the merchant."""
    from ownpay.merchants.accounts import public_base_url
    from ownpay.merchants.models import Merchant
    from ownpay.payments import presenters, repository

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s:
            intent = await repository.operator_get(s, txn)
            if intent is None:
                fail(f"payment {txn} not found")
            assert intent is not None  # noqa: S101
            merchant = await s.get(Merchant, intent.merchant_id)
            assert merchant is not None  # noqa: S101
            rows = await repository.history(s, intent)
            shown = presenters.serialize_intent(
                intent, rows, base_url=public_base_url(ctx, merchant.public_root))
            return {"merchant": merchant.slug, **shown}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: _print_payment(result))


def _print_payment(p: dict[str, Any]) -> None:
    from ownpay import money

    def amount(major: Any) -> str:
        return money.format_plain(money.parse_minor(major, p["currency"]), p["currency"])

    customer = p["customer"]
    lines = [
        f"{p['transaction_id']}  {p['status']}  {amount(p['amount'])}",
        f"merchant   {p['merchant']} ({p['mode']}), gateway {p['gateway']}",
        f"order      {p['order_id']}",
        "customer   " + " ".join(
            part for part in (customer["name"], f"<{customer['email']}>", customer["phone"])
            if part),
        f"created    {p['created_at']}, expires {p['expires_at']}",
    ]
    if p["paid_at"]:
        lines.append(f"paid       {p['paid_at']}")
    if p["provider_transaction_id"]:
        lines.append(f"provider   {p['provider_transaction_id']}")
    if p["failure_reason"]:
        lines.append(f"failed     {p['failure_reason']}")
    if p["refunded_amount"]:
        lines.append(f"refunded   {amount(p['refunded_amount'])}")
    if p["customer_submission"]:
        lines.append("submitted by the customer:")
        lines += [f"  {name}: {value}" for name, value in p["customer_submission"].items()]
    lines.append("history:")
    lines += [f"  {h['at']}  {h['from_status'] or '-'} -> {h['to_status']}  {h['actor']}"
              + (f": {h['reason']}" if h["reason"] else "") for h in p["status_history"]]
    typer.echo("\n".join(lines))


def _review(txn: str, approve: bool, reason: str | None, as_json: bool, database_url: str | None,
            data_dir: str | None) -> None:
    from ownpay.payments import repository, service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            intent = await repository.operator_get(s, txn)
            if intent is None:
                fail(f"payment {txn} not found")
            assert intent is not None  # noqa: S101
            intent = await service.review_manual(s, intent, approve=approve, actor="operator:cli",
                                                 reason=reason)
            await audit.record(s, audit.cli_actor(),
                               "payment.approved" if approve else "payment.rejected",
                               merchant_id=intent.merchant_id, mode=intent.mode,
                               object_type="payment", object_id=intent.id,
                               details={"reason": reason})
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


