"""``ownpay transactions export``: the API's CSV export, for operators, to a file or stdout.

The same parser, query and encoder as ``GET /api/v1/transactions/export``.  With
``--output`` the CSV is written to a hidden file beside the target and renamed into place
only when complete, so an export that fails midway leaves no truncated file behind.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from ownpay.cli.common import Commands, DataOpt, DbOpt, run_async, settings_from
from ownpay.tenancy import TenantScope

transactions_app: typer.Typer = Commands(help="Transactions: query and export.",
                                            no_args_is_help=True)


def _items(**options: str | list[str] | None) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for name, value in options.items():
        for one in value if isinstance(value, list) else [value]:
            if one is not None:
                items.append((name, one))
    return items


def _checked(*checks: Callable[[], Any]) -> list[Any]:
    """Run every check and report all their bad fields at once (a bad ``--mode`` used to be
    reported only once the filters were right)."""
    from ownpay.errors import FieldErrors, ValidationFailed

    errors = FieldErrors()
    results: list[Any] = []
    for check in checks:
        try:
            results.append(check())
        except ValidationFailed as exc:
            for name, messages in (exc.errors or {}).items():
                for message in messages:
                    errors.add(name, message)
    errors.raise_if_any()
    return results


@transactions_app.command("export")
def export_command(
    merchant: Annotated[str, typer.Option(help="Merchant slug.")],
    mode: Annotated[str, typer.Option(help="test or live.")],
    status: Annotated[list[str] | None, typer.Option(
        help="Status (repeatable, or comma-separated).")] = None,
    gateway: Annotated[str | None, typer.Option()] = None,
    order_id: Annotated[str | None, typer.Option("--order-id")] = None,
    customer_email: Annotated[str | None, typer.Option(
        "--customer-email", help="Exact, case-insensitive.")] = None,
    created_from: Annotated[str | None, typer.Option(
        "--created-from", help="ISO 8601, inclusive (no offset = UTC).")] = None,
    created_to: Annotated[str | None, typer.Option(
        "--created-to", help="ISO 8601, exclusive (no offset = UTC).")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217; needed by amount filters.")]
    = None,
    amount_min: Annotated[str | None, typer.Option("--amount-min", help="Major units.")] = None,
    amount_max: Annotated[str | None, typer.Option("--amount-max", help="Major units.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (default: standard output).")] = None,
    database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """Export a merchant's transactions of one mode as CSV, newest first."""
    from ownpay.merchants import service as merchants
    from ownpay.transactions import export, schemas

    items = _items(status=status, gateway=gateway, order_id=order_id,
                   customer_email=customer_email, created_from=created_from,
                   created_to=created_to, currency=currency, amount_min=amount_min,
                   amount_max=amount_max)

    def write_to(sink: BinaryIO) -> int:
        async def go(ctx: Any) -> int:
            checked_mode, filters = _checked(lambda: merchants.check_mode(mode),
                                             lambda: schemas.parse_filters(items))
            async with ctx.sessions() as s:
                merchant_id = (await merchants.get_merchant(s, merchant)).id
            written = 0
            async for chunk, count in export.csv_chunks(
                ctx.reads, scope=TenantScope(merchant_id, checked_mode),
                filters=filters,
            ):
                sink.write(chunk)
                written += count
            return written

        return run_async(settings_from(database_url, data_dir), go)

    if output is None:
        write_to(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    partial = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        with partial.open("wb") as sink:
            count = write_to(sink)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"exported {count} transactions to {output}", err=True)
