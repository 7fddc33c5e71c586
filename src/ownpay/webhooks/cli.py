"""``ownpay webhooks …``: configure a merchant's webhook endpoints from the command line.

The operator is not a tenant: commands name the merchant (``--merchant SLUG``) or an
endpoint id, and then go through the same scoped service functions as the API.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, out, run_async, settings_from
from ownpay.tenancy import TenantScope

webhooks_app: typer.Typer = Commands(help="Webhook endpoints (where signed events are sent).",
                                         no_args_is_help=True)


def _print_endpoint(row: dict[str, Any]) -> None:
    state = "enabled" if row["enabled"] else "disabled"
    events = ",".join(row["events"])
    typer.echo(f"{row['id']}  {row['mode']:<4}  {state:<8}  {row['url']}  [{events}]")


@webhooks_app.command("add")
def add(merchant: Annotated[str, typer.Option(help="Merchant slug.")],
        mode: Annotated[str, typer.Option(help="test or live.")],
        url: Annotated[str, typer.Option(help="https:// URL (http:// in test mode only).")],
        events: Annotated[str | None, typer.Option(
            help="Comma-separated event types (default: all, '*').")] = None,
        description: Annotated[str | None, typer.Option()] = None,
        scheme: Annotated[str | None, typer.Option(
            help="ownpay (default) or ownpay-legacy (clients of OwnPay's merchant API: "
                 "WHMCS, WooCommerce, its SDKs).")] = None,
        as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Add an endpoint; its signing secret is printed once and never again."""
    from ownpay.merchants import service as merchants
    from ownpay.webhooks import service

    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = [e.strip() for e in events.split(",") if e.strip()]
    if description is not None:
        body["description"] = description
    if scheme is not None:
        body["scheme"] = scheme

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await merchants.get_merchant(s, merchant)
            endpoint, secret = await service.create_endpoint(
                s, ctx.keyring, ctx.settings, scope=TenantScope(m.id, merchants.check_mode(mode)),
                body=body,
            )
            await audit.record(s, audit.cli_actor(), "webhook_endpoint.created",
                               merchant_id=m.id, mode=endpoint.mode,
                               object_type="webhook_endpoint", object_id=endpoint.id,
                               details=body)
            return service.serialize_endpoint(endpoint, secret=secret)

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(
        f"created webhook endpoint {result['id']} for {merchant} ({result['mode']})\n"
        f"signing secret (shown once, keep it): {result['secret']}"))


@webhooks_app.command("list")
def list_(merchant: Annotated[str, typer.Option(help="Merchant slug.")],
          mode: Annotated[str | None, typer.Option(help="test or live (default both).")] = None,
          as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """List a merchant's endpoints (secrets are never shown)."""
    from ownpay.merchants import service as merchants
    from ownpay.webhooks import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            m = await merchants.get_merchant(s, merchant)
            modes = [merchants.check_mode(mode)] if mode else ["test", "live"]
            return [
                service.serialize_endpoint(endpoint)
                for m_mode in modes
                for endpoint in await service.list_endpoints(s, scope=TenantScope(m.id, m_mode))
            ]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for r in rows:
            _print_endpoint(r)
        if not rows:
            typer.echo("no endpoints")

    out(rows, as_json, human)


@webhooks_app.command("remove")
def remove(endpoint_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False,
           database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Delete an endpoint; deliveries not yet made to it are cancelled (the log is kept)."""
    from ownpay.webhooks import service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            scope = await service.operator_endpoint_scope(s, endpoint_id)
            await service.delete_endpoint(s, scope=scope, endpoint_id=endpoint_id)
            await audit.record(s, audit.cli_actor(), "webhook_endpoint.deleted",
                               merchant_id=scope.merchant_id, mode=scope.mode,
                               object_type="webhook_endpoint", object_id=endpoint_id)
            return {"id": endpoint_id, "deleted": True}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(f"removed webhook endpoint {endpoint_id}"))


@webhooks_app.command("rotate")
def rotate(endpoint_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOpt = False,
           database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """New signing secret (printed once); the old one keeps signing alongside for 24 h."""
    from ownpay.webhooks import service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            scope = await service.operator_endpoint_scope(s, endpoint_id)
            endpoint, secret = await service.rotate_secret(
                s, ctx.keyring, scope=scope, endpoint_id=endpoint_id
            )
            await audit.record(s, audit.cli_actor(), "webhook_endpoint.secret_rotated",
                               merchant_id=scope.merchant_id, mode=scope.mode,
                               object_type="webhook_endpoint", object_id=endpoint_id)
            return service.serialize_endpoint(endpoint, secret=secret)

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(
        f"new signing secret for {endpoint_id} (shown once): {result['secret']}\n"
        f"the previous secret also signs until {result['previous_secret_expires_at']}"))


@webhooks_app.command("callback-secret")
def callback_secret(
    merchant: Annotated[str, typer.Option(help="Merchant slug.")],
    mode: Annotated[str, typer.Option(help="test or live.")],
    rotate: Annotated[bool, typer.Option(
        "--rotate", help="Replace it; the old one stops signing at once.")] = False,
    as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
) -> None:
    """The secret that signs payments' own callback_url webhooks (OwnPay merchant API):
    type it into the plugin's "webhook secret" field.  Created on first use."""
    from ownpay.merchants import service as merchants
    from ownpay.webhooks import callbacks

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await merchants.get_merchant(s, merchant)
            scope = TenantScope(m.id, merchants.check_mode(mode))
            value = await callbacks.secret(s, ctx.keyring, scope, rotate=rotate)
            if rotate:
                await audit.record(s, audit.cli_actor(), "callback_secret.rotated",
                                   merchant_id=m.id, mode=scope.mode,
                                   object_type="callback_secret", object_id=scope.mode)
            return {"merchant": merchant, "mode": scope.mode, "secret": value,
                    "rotated": rotate}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(
        f"callback secret for {merchant} ({result['mode']}){' (new)' if rotate else ''}: "
        f"{result['secret']}"))
