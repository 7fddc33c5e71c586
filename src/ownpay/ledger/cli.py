"""``ownpay ledger …`` (verify, balances) and ``ownpay fees …`` (set, remove, list)."""

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
    fail,
    out,
    run_async,
    settings_from,
)
from ownpay.tenancy import TenantScope

ledger_app: typer.Typer = Commands(help="The double-entry ledger.", no_args_is_help=True)
fees_app: typer.Typer = Commands(help="Fee rules per merchant, mode and gateway.",
                                    no_args_is_help=True)


@ledger_app.command("verify")
def verify(
    merchant: Annotated[str | None, typer.Option(help="Merchant slug (default: all).")] = None,
    mode: Annotated[str | None, typer.Option(help="test or live (default both).")] = None,
    as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """Prove debits == credits (per journal and overall) and that every account matches the
    completed payments, fees and refunds.  Exits 1 and prints the offenders otherwise."""
    from ownpay.ledger import verify
    from ownpay.merchants import service as merchants

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s:
            merchant_id = (await merchants.get_merchant(s, merchant)).id if merchant else None
            report = await verify.operator_verify(
                s, merchant_id=merchant_id, mode=merchants.check_mode(mode) if mode else None)
            return report.as_dict()

    report = run_async(settings_from(database_url, data_dir), go)
    out(report, as_json, lambda: _print_report(report))
    if not report["ok"]:
        raise typer.Exit(1)


def _print_report(report: dict[str, Any]) -> None:
    from ownpay import money

    if report["ok"]:
        typer.echo(f"ledger OK: {report['journals']} journals, {report['entries']} entries, "
                   f"{report['scopes']} merchant/mode/currency books balanced and matching "
                   "payments, fees and refunds")
        return
    typer.echo(f"ledger NOT OK: {len(report['problems'])} problem(s)", err=True)
    for problem in report["problems"]:
        where = f"merchant {problem['merchant_id']} {problem['mode']} {problem['currency']}"
        typer.echo(f"- [{problem['check']}] {where}: {problem['message']}", err=True)
        for e in problem["entries"]:
            shown = (money.format_plain(e["amount_minor"], problem["currency"])
                     if problem["currency"] else f"{e['amount_minor']} (minor units)")
            typer.echo(f"    entry {e['id']} journal {e['journal_id']} {e['account']} "
                       f"{e['direction']} {shown}", err=True)


@ledger_app.command("balances")
def balances(
    merchant: Annotated[str, typer.Option(help="Merchant slug.")],
    mode: Annotated[str, typer.Option(help="test or live.")],
    as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """Account balances per currency (as GET /api/v1/ledger/balances)."""
    from ownpay.ledger import service
    from ownpay.merchants import service as merchants

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            m = await merchants.get_merchant(s, merchant)
            return await service.balances(s, scope=TenantScope(m.id, merchants.check_mode(mode)))

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for row in rows:
            currency = row["currency"]
            net = amount_text(row["merchant_net_payable"], currency)
            typer.echo(f"{currency}  (net payable to the merchant: {net})")
            for name, account in row["accounts"].items():
                balance = amount_text(account["balance"], currency)
                typer.echo(f"  {name:<18} {balance:>18}  ({account['type']})")
        if not rows:
            typer.echo("no entries")

    out(rows, as_json, human)


@fees_app.command("set")
def fees_set(
    merchant: Annotated[str, typer.Option(help="Merchant slug.")],
    mode: Annotated[str, typer.Option(help="test or live.")],
    gateway: Annotated[str, typer.Option(help="Gateway slug.")],
    currency: Annotated[str | None, typer.Option(
        help="ISO code the amounts are in (required with --flat/--min/--max).")] = None,
    flat: Annotated[str | None, typer.Option(help="Flat part, major units.")] = None,
    percent: Annotated[str | None, typer.Option(help="e.g. 2.9")] = None,
    min_: Annotated[str | None, typer.Option("--min", help="Minimum fee.")] = None,
    max_: Annotated[str | None, typer.Option("--max", help="Maximum fee.")] = None,
    as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """Create or replace the fee rule for a merchant, mode, gateway (and currency)."""
    from ownpay.ledger import fees
    from ownpay.merchants import service as merchants

    body = {"gateway": gateway, "currency": currency, "flat": flat, "percent": percent,
            "min": min_, "max": max_}
    if flat is None and percent is None:
        fail("give --flat and/or --percent")

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await merchants.get_merchant(s, merchant)
            rule = await fees.set_rule(s, scope=TenantScope(m.id, merchants.check_mode(mode)),
                                       rule=fees.validate_rule(body))
            shown = fees.serialize_rule(rule)
            await audit.record(s, audit.cli_actor(), "fee_rule.set", merchant_id=m.id,
                               mode=rule.mode, object_type="fee_rule", object_id=rule.id,
                               details=shown)
            return {"merchant": merchant, **shown}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: _print_rule(result))


@fees_app.command("remove")
def fees_remove(
    merchant: Annotated[str, typer.Option(help="Merchant slug.")],
    mode: Annotated[str, typer.Option(help="test or live.")],
    gateway: Annotated[str, typer.Option(help="Gateway slug.")],
    currency: Annotated[str | None, typer.Option(
        help="The rule's currency; omit for the gateway's any-currency rule.")] = None,
    as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """Remove the fee rule for a merchant, mode, gateway (and currency).  Completed
    payments keep their fee; exits 1 if there is no such rule."""
    from ownpay.ledger import fees
    from ownpay.merchants import service as merchants

    async def go(ctx: Any) -> dict[str, Any] | None:
        async with ctx.sessions() as s, s.begin():
            m = await merchants.get_merchant(s, merchant)
            name, code = fees.validate_key(gateway, currency)
            rule = await fees.remove_rule(
                s, scope=TenantScope(m.id, merchants.check_mode(mode)), gateway=name,
                currency=code)
            if rule is None:
                return None
            shown = fees.serialize_rule(rule)
            await audit.record(s, audit.cli_actor(), "fee_rule.removed", merchant_id=m.id,
                               mode=rule.mode, object_type="fee_rule", object_id=rule.id,
                               details=shown)
            return {"merchant": merchant, **shown}

    result = run_async(settings_from(database_url, data_dir), go)
    if result is None:
        fail(f"no fee rule for {gateway} ({currency or 'any currency'}) in {mode} mode")
    out(result, as_json, lambda: typer.echo(
        f"removed the {result['gateway']} fee rule ({result['currency'] or 'any currency'}, "
        f"{result['mode']} mode)"))


def _print_rule(rule: dict[str, Any]) -> None:
    currency = rule["currency"]
    bounds = "".join(f" {k} {amount_text(rule[k], currency)}" for k in ("min", "max")
                     if rule[k] is not None)
    typer.echo(f"{rule['merchant']:<16} {rule['mode']:<4} {rule['gateway']:<10} "
               f"{currency or '*':<3}  {amount_text(rule['flat'], currency)} + "
               f"{rule['percent']}%{bounds}")


@fees_app.command("list")
def fees_list(
    merchant: Annotated[str | None, typer.Option(help="Merchant slug (default: all).")] = None,
    mode: Annotated[str | None, typer.Option(help="test or live (default both).")] = None,
    as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """List fee rules."""
    from ownpay.ledger import fees
    from ownpay.merchants import service as merchants

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            chosen = [await merchants.get_merchant(s, merchant)] if merchant else \
                await merchants.list_merchants(s)
            checked = merchants.check_mode(mode) if mode else None
            return [{"merchant": m.slug, **fees.serialize_rule(r)} for m in chosen
                    for r in await fees.list_rules(s, merchant_id=m.id, mode=checked)]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for row in rows:
            _print_rule(row)
        if not rows:
            typer.echo("no fee rules")

    out(rows, as_json, human)
