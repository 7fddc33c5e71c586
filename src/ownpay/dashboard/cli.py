"""``ownpay users …`` (operator accounts) and ``ownpay audit verify``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from ownpay.audit import cli_actor
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from
from ownpay.dashboard.roles import ROLES

users_app = Commands(help="Dashboard users (operators) and their roles.", no_args_is_help=True)
audit_app = Commands(help="The tamper-evident audit log.", no_args_is_help=True)
EmailArg = Annotated[str, typer.Argument(metavar="EMAIL")]


def _row(user: Any, brands: dict[int, str]) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "role": user.role,
            "merchant": brands.get(user.merchant_id) if user.merchant_id else None,
            "two_factor": user.totp_enabled_at is not None,
            "disabled": user.disabled_at is not None,
            "created_at": user.created_at.isoformat()}


def _read_password() -> str:
    text = sys.stdin.readline()
    return text.rstrip("\r\n")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(metavar="EMAIL")],
    role: Annotated[str, typer.Option(metavar="|".join(ROLES))],
    merchant: Annotated[str | None, typer.Option(
        metavar="SLUG", help="The brand of a manager, operator, developer or viewer.")] = None,
    refund_limit: Annotated[str | None, typer.Option(
        "--refund-limit", metavar="AMOUNT",
        help="An operator's most per refund on the dashboard (major units, e.g. 100.00).")
    ] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin instead of "
        "generating one.")] = False,
    as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """Create a user; a generated password is printed once."""
    from ownpay.dashboard import users

    chosen = _read_password() if password_stdin else None

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            made = await users.create_user(s, cli_actor(), email=email, role=role,
                                           merchant_slug=merchant, password=chosen,
                                           refund_limit=refund_limit)
            return {"email": made.user.email, "password": made.password, "role": role}

    result = run_async(settings_from(database_url, data_dir), go)
    if result["password"] is None:
        result.pop("password")

    def human() -> None:
        typer.echo(f"created {result['role']} {result['email']}")
        if "password" in result:
            typer.echo(f"password (shown once): {result['password']}")

    out(result, as_json, human)


@users_app.command("list")
def users_list(as_json: JsonOpt = False, database_url: DbOpt = None,
               data_dir: DataOpt = None) -> None:
    """Every user with role, brand, 2FA and status."""
    from ownpay.dashboard import users
    from ownpay.merchants import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            brands = {m.id: m.slug for m in await service.list_merchants(s)}
            return [_row(u, brands) for u in await users.list_users(s)]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for r in rows:
            flags = ", ".join(f for f, on in (("2FA", r["two_factor"]),
                                              ("disabled", r["disabled"])) if on)
            typer.echo(f"{r['email']}  {r['role']}  {r['merchant'] or 'all brands'}"
                       + (f"  ({flags})" if flags else ""))

    out(rows, as_json, human)


def _change(email: str, database_url: str | None, data_dir: str | None,
            action: str) -> dict[str, Any]:
    from ownpay.dashboard import users

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            user = await users.find(s, email)
            if user is None:
                fail(f"no user {email!r}")
            result: dict[str, Any] = {"email": user.email}
            if action == "disable":
                await users.disable(s, cli_actor(), user)
            elif action == "enable":
                await users.enable(s, cli_actor(), user)
            elif action == "reset-2fa":
                await users.reset_two_factor(s, cli_actor(), user)
            else:
                result["password"] = await users.set_password(s, cli_actor(), user, None)
            return result

    return run_async(settings_from(database_url, data_dir), go)


@users_app.command("disable")
def users_disable(email: EmailArg, database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Stop a user signing in; their sessions end now."""
    _change(email, database_url, data_dir, "disable")
    typer.echo(f"disabled {email}")


@users_app.command("enable")
def users_enable(email: EmailArg, database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Let a disabled user sign in again."""
    _change(email, database_url, data_dir, "enable")
    typer.echo(f"enabled {email}")


@users_app.command("reset-2fa")
def users_reset_2fa(email: EmailArg, database_url: DbOpt = None,
                    data_dir: DataOpt = None) -> None:
    """Turn off a user's two-factor authentication (lost phone); they enrol again."""
    _change(email, database_url, data_dir, "reset-2fa")
    typer.echo(f"two-factor authentication of {email} is off; their sessions ended")


@users_app.command("reset-password")
def users_reset_password(email: EmailArg, as_json: JsonOpt = False, database_url: DbOpt = None,
                         data_dir: DataOpt = None) -> None:
    """Give a user a new generated password (printed once); their sessions end."""
    result = _change(email, database_url, data_dir, "reset-password")
    out(result, as_json, lambda: typer.echo(
        f"new password for {email} (shown once): {result['password']}"))


@audit_app.command("verify")
def audit_verify(as_json: JsonOpt = False, database_url: DbOpt = None,
                 data_dir: DataOpt = None) -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken link."""
    from ownpay import audit

    async def go(ctx: Any) -> Any:
        async with ctx.sessions() as s:
            return await audit.verify(s)

    verdict = run_async(settings_from(database_url, data_dir), go)
    result = {"ok": verdict.ok, "rows": verdict.rows, "head": verdict.head,
              "problem": verdict.problem, "broken_id": verdict.broken_id}
    out(result, as_json, lambda: typer.echo(
        f"audit log intact: {verdict.rows} rows, head {verdict.head}" if verdict.ok
        else f"audit log broken: {verdict.problem}"))
    if not verdict.ok:
        raise typer.Exit(1)
