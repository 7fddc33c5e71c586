"""What every ``ownpay`` command shares: the common options, loading settings, running an
async body in an app context, and printing (``--json`` or for people).  Log lines go to
stderr; stdout is the command's output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ownpay.config import ConfigError, Settings, load_settings
from ownpay.security import secure_data_dir

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
DbOpt = Annotated[str | None, typer.Option(
    "--database-url", envvar="OWNPAY_DATABASE_URL", show_envvar=True,
    help="sqlite:///… or postgresql://…")]
DataOpt = Annotated[str | None, typer.Option(
    "--data-dir", envvar="OWNPAY_DATA_DIR", show_envvar=True)]
BaseOpt = Annotated[str | None, typer.Option(
    "--base-url", envvar="OWNPAY_BASE_URL", show_envvar=True,
    help="Public base URL of this installation.")]


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_from(database_url: str | None = None, data_dir: str | None = None,
                  base_url: str | None = None, **extra: Any) -> Settings:
    try:
        return load_settings(database_url=database_url, data_dir=data_dir, base_url=base_url,
                             **extra)
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable


def run_async(settings: Settings, fn: Callable[[Any], Awaitable[T]], *,
              create_secret: bool = False, migrate: bool = False) -> T:
    """Open an app context, optionally migrate, run ``fn(ctx)``, close.

    Domain errors become one line on stderr and exit code 1.  Management commands do not
    migrate (``init``, ``migrate`` and ``serve`` do); on a database that was never set up
    they say so instead of printing a driver error.
    """
    from sqlalchemy.exc import DBAPIError

    from ownpay.context import AppContext
    from ownpay.errors import ApiError
    from ownpay.logs import configure_logging

    configure_logging(settings)  # log lines go to stderr: stdout is for the command's output

    async def main() -> T:
        ctx = AppContext.create(settings, create_secret=create_secret)
        try:
            if migrate:
                from ownpay.migrate import upgrade

                await upgrade(ctx.engine)
            return await fn(ctx)
        finally:
            await ctx.close()

    try:
        if settings.is_sqlite:  # before the event loop starts: mkdir is a blocking call
            secure_data_dir(Path(settings.data_dir))
        return asyncio.run(main())
    except ConfigError as exc:
        fail(str(exc))
    except DBAPIError as exc:
        text = str(exc.orig).lower()
        if "no such table" in text or "does not exist" in text:
            fail("the database is not set up: run `ownpay init` (or `ownpay migrate`) first")
        fail(f"database error: {exc.orig}")
    except ApiError as exc:
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.errors or {}).items())
        fail(exc.message + (f" ({detail})" if detail else ""))
    raise AssertionError("unreachable")


def out(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        human()


