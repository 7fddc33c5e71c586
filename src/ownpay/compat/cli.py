"""``ownpay compat …``: switch the UddoktaPay and PipraPay facades on or off per brand.

Off by default.  Switching one on lets the brand's keys (``ownpay api-keys``) be typed into
that product's plugins unchanged, with that product's weaker key-in-a-header scheme for
requests and IPNs (docs/compatibility.md says what that risks).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from
from ownpay.tenancy import TenantScope

compat_app: typer.Typer = Commands(
    help="Compatibility facades (UddoktaPay, PipraPay): per-brand opt-in.", no_args_is_help=True)

ApiArg = Annotated[str, typer.Argument(help="uddoktapay or piprapay.", metavar="API")]
MerchantOpt = Annotated[str, typer.Option(help="Merchant slug.")]
ModeOpt = Annotated[str, typer.Option(help="test or live.")]


def _switch(api: str, merchant: str, mode: str, enabled: bool, as_json: bool,
            database_url: str | None, data_dir: str | None) -> None:
    from ownpay.compat import switches
    from ownpay.merchants import service as merchants

    if api not in switches.APIS:
        fail(f"unknown API {api!r}: one of {', '.join(switches.APIS)}")

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await merchants.get_merchant(s, merchant)
            scope = TenantScope(m.id, merchants.check_mode(mode))
            before = await switches.is_enabled(s, scope, api)
            await switches.set_enabled(s, scope, api, enabled=enabled)
            if before != enabled:
                await audit.record(s, audit.cli_actor(),
                                   "compat.enabled" if enabled else "compat.disabled",
                                   merchant_id=m.id, mode=scope.mode, object_type="compat_api",
                                   object_id=api,
                                   details={"enabled": {"before": before, "after": enabled}})
        return {"merchant": merchant, "mode": scope.mode, "api": api, "enabled": enabled}

    result = run_async(settings_from(database_url, data_dir), go)
    word = "enabled" if enabled else "disabled"
    out(result, as_json, lambda: typer.echo(
        f"{api} {word} for {merchant} ({result['mode']})"))


@compat_app.command("enable")
def enable(api: ApiArg, merchant: MerchantOpt, mode: ModeOpt, as_json: JsonOpt = False,
           database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Let the brand's keys of MODE speak API (its plugins work unchanged)."""
    _switch(api, merchant, mode, True, as_json, database_url, data_dir)


@compat_app.command("disable")
def disable(api: ApiArg, merchant: MerchantOpt, mode: ModeOpt, as_json: JsonOpt = False,
            database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Stop answering API for the brand (its requests are refused as with a wrong key)."""
    _switch(api, merchant, mode, False, as_json, database_url, data_dir)


@compat_app.command("list")
def list_(merchant: MerchantOpt, as_json: JsonOpt = False, database_url: DbOpt = None,
          data_dir: DataOpt = None) -> None:
    """Each facade's switch for the brand, in both modes."""
    from ownpay.compat import switches
    from ownpay.merchants import service as merchants

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            m = await merchants.get_merchant(s, merchant)
            return await switches.listing(s, m.id)

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for r in rows:
            typer.echo(f"{r['api']:<11} {r['mode']:<4} {'on' if r['enabled'] else 'off'}")

    out(rows, as_json, human)
