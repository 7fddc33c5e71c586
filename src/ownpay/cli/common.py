"""What every ``ownpay`` command shares: the common options, loading settings, running an
async body in an app context, and printing (``--json`` or for people).  Log lines go to
stderr; stdout is the command's output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from ownpay.config import ConfigError, Settings, load_settings
from ownpay.security import secure_data_dir

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
DbOpt = Annotated[str | None, typer.Option(
    "--database-url", envvar="OWNPAY_DATABASE_URL", show_envvar=True, metavar="URL",
    help="sqlite:///… or postgresql://…")]
DataOpt = Annotated[str | None, typer.Option(
    "--data-dir", envvar="OWNPAY_DATA_DIR", show_envvar=True, metavar="DIR")]
BaseOpt = Annotated[str | None, typer.Option(
    "--base-url", envvar="OWNPAY_BASE_URL", show_envvar=True, metavar="URL",
    help="Public base URL of this installation.")]


# ---- help without type noise --------------------------------------------------------------
#
# Typer labels every parameter with its Python type: ``--json <bool>``, ``--help <bool>``,
# ``--port <int>``, ``TXN <str>``.  Here a flag shows no value at all, an argument only its
# name, and an option the value it takes: its metavar when it has one, else a word for the
# kind of value (TEXT, N, NUMBER, PATH).  Typer builds its parameters itself, so the
# commands of a :class:`Commands` group re-class theirs when help is shown or parsed.

_VALUE_WORDS = {"int": "N", "float": "NUMBER", "Path": "PATH"}


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        annotation = self.type_descriptor.annotation
        args = getattr(annotation, "__args__", None)
        kind = args[0] if args and getattr(annotation, "__origin__", None) is list else annotation
        return _VALUE_WORDS.get(getattr(kind, "__name__", ""), "TEXT")


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def _plain(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _Option
        elif type(param) is TyperArgument:
            param.__class__ = _Argument
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class Commands(typer.Typer):
    """A ``typer.Typer`` whose groups and commands show help without type noise."""

    def __init__(self, **options: Any) -> None:
        super().__init__(cls=_Group, **options)

    def command(self, *args: Any, cls: type[TyperCommand] | None = None,
                **options: Any) -> Any:
        return super().command(*args, cls=cls or _Command, **options)


Command = _Command  # the base of a command class of its own (``@app.command(cls=…)``)


def fail(message: str, code: int = 1) -> NoReturn:
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
              create_secret: bool = False, migrate: bool = False, quiet: bool = True) -> T:
    """Open an app context, optionally migrate, run ``fn(ctx)``, close.

    Domain errors become one line on stderr and exit code 1.  Management commands do not
    migrate (``init``, ``migrate`` and ``serve`` do); on a database that was never set up
    they say so instead of printing a driver error.  They are ``quiet``: only warnings and
    errors are logged (to stderr), unless ``OWNPAY_LOG_LEVEL=debug``; the worker is not.
    """
    from sqlalchemy.exc import DBAPIError

    from ownpay.context import AppContext
    from ownpay.errors import ApiError
    from ownpay.logs import configure_logging

    # Log lines go to stderr: stdout is for the command's output.
    configure_logging(settings, quiet=quiet)

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


def amount_text(value: Any, currency: str | None) -> str:
    """An amount from an API answer (major units, a JSON number) as an operator reads it,
    in the currency's decimals: ``14.5`` USD → ``14.50 USD``, ``500`` JPY → ``500 JPY``.
    Without a currency (a fee rule for any currency), the number as it is."""
    from ownpay import money

    if value is None:
        return "-"
    if not currency:
        return str(value)
    minor = int(money.to_decimal(value).scaleb(money.exponent(currency)))
    return money.format_plain(minor, currency)


def out(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        human()


