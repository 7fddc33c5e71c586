"""``ownpay merchants|api-keys|gateways …``: brands, their API keys and gateway accounts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.branding.cli import merchants_theme
from ownpay.cli.common import (
    Command,
    Commands,
    DataOpt,
    DbOpt,
    JsonOpt,
    fail,
    out,
    run_async,
    settings_from,
)

merchants_app = Commands(help="Merchants (brands).", no_args_is_help=True)
keys_app = Commands(help="API keys.", no_args_is_help=True)
gateways_app = Commands(help="Gateway accounts per merchant and mode.", no_args_is_help=True)

MerchantOpt = Annotated[str, typer.Option(metavar="SLUG", help="Merchant slug.")]
ModeOpt = Annotated[str, typer.Option(metavar="test|live")]

@merchants_app.command("create")
def merchants_create(slug: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
                     base_url: Annotated[str | None, typer.Option("--base-url")] = None,
                     logo_url: Annotated[str | None, typer.Option("--logo-url")] = None,
                     primary_color: Annotated[str | None, typer.Option("--primary-color")] = None,
                     checkout_language: Annotated[str | None, typer.Option(
                         "--checkout-language", metavar="en|bn",
                         help="The checkout's language (default en).")] = None,
                     intent_lifetime: Annotated[int | None, typer.Option(
                         "--intent-lifetime", help="Seconds.")] = None,
                     as_json: JsonOpt = False, database_url: DbOpt = None,
                     data_dir: DataOpt = None) -> None:
    """Create a merchant (brand)."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.create_merchant(s, slug=slug, name=name, base_url=base_url,
                                              logo_url=logo_url, primary_color=primary_color,
                                              checkout_language=checkout_language,
                                              intent_lifetime=intent_lifetime)
            await audit.record(s, audit.cli_actor(), "merchant.created", merchant_id=m.id,
                               object_type="merchant", object_id=m.slug,
                               details=_merchant_row(m))
            return {"id": m.id, "slug": m.slug, "name": m.name, "base_url": m.base_url}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json,
        lambda: typer.echo(f"created merchant {result['slug']} (id {result['id']})"))


def _merchant_row(m: Any) -> dict[str, Any]:
    return {"id": m.id, "slug": m.slug, "name": m.name, "status": m.status,
            "base_url": m.base_url, "logo_url": m.logo_url, "primary_color": m.primary_color,
            "intent_lifetime": m.intent_lifetime, "checkout_language": m.checkout_language}


@merchants_app.command("update")
def merchants_update(slug: Annotated[str, typer.Argument(metavar="SLUG")],
                     name: Annotated[str | None, typer.Option(help="Shown to customers.")] = None,
                     base_url: Annotated[str | None, typer.Option(
                         "--base-url", metavar="URL",
                         help="Public root of this merchant's payment links; '' for the "
                              "installation's.")] = None,
                     logo_url: Annotated[str | None, typer.Option(
                         "--logo-url", metavar="URL", help="'' removes the logo.")] = None,
                     primary_color: Annotated[str | None, typer.Option(
                         "--primary-color", metavar="#HEX",
                         help="Checkout colour, e.g. #1a73e8; '' for the default.")] = None,
                     intent_lifetime: Annotated[int | None, typer.Option(
                         "--intent-lifetime", metavar="SECONDS",
                         help="Default payment-link lifetime (60 … 604800).")] = None,
                     checkout_language: Annotated[str | None, typer.Option(
                         "--checkout-language", metavar="en|bn",
                         help="The checkout's language unless the customer picks "
                              "another.")] = None,
                     as_json: JsonOpt = False, database_url: DbOpt = None,
                     data_dir: DataOpt = None) -> None:
    """Change a merchant's name, base URL, logo, colour, link lifetime or checkout language
    (not its slug).

    Validated as on creation.  Other server processes see the change within
    OWNPAY_AUTH_CACHE_TTL seconds."""
    from ownpay.merchants import service

    given = {"name": name, "base_url": base_url, "logo_url": logo_url,
             "primary_color": primary_color, "intent_lifetime": intent_lifetime,
             "checkout_language": checkout_language}
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        fail("nothing to change: give --name, --base-url, --logo-url, --primary-color, "
             "--intent-lifetime or --checkout-language")

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, slug)
            before = _merchant_row(m)
            after = _merchant_row(await service.update_merchant(s, m, changes=changes))
            await audit.record(s, audit.cli_actor(), "merchant.updated", merchant_id=m.id,
                               object_type="merchant", object_id=m.slug,
                               details=audit.changes(before, after))
            return after

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(
        f"updated merchant {slug}: " + ", ".join(
            f"{k} {result[k] if result[k] is not None else '(cleared)'}" for k in changes)))


merchants_app.command("theme")(merchants_theme)  # branding/cli.py


@merchants_app.command("list")
def merchants_list(as_json: JsonOpt = False, database_url: DbOpt = None,
                   data_dir: DataOpt = None) -> None:
    """List merchants."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            return [_merchant_row(m) for m in await service.list_merchants(s)]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for r in rows:
            typer.echo(f"{r['slug']:<20} {r['status']:<8} {r['name']}")

    out(rows, as_json, human)


@keys_app.command("create")
def keys_create(merchant: MerchantOpt, mode: ModeOpt,
                scopes: Annotated[str | None, typer.Option(
                    help="Comma-separated: read,write,admin (default all).")] = None,
                name: Annotated[str | None, typer.Option()] = None,
                dialect: Annotated[str | None, typer.Option(
                    help="ownpay: a key for OwnPay's merchant-API clients (WHMCS, "
                         "WooCommerce, its SDKs): /api/v1/transactions and /api/v1/refunds "
                         "answer it in that API's shapes.")] = None,
                as_json: JsonOpt = False, database_url: DbOpt = None,
                data_dir: DataOpt = None) -> None:
    """Create an API key; the key is printed once and never again."""
    from ownpay.merchants import service

    if dialect not in service.DIALECTS:
        raise typer.BadParameter("must be 'ownpay'", param_hint="--dialect")

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, merchant)
            key = await service.create_api_key(s, merchant=m, mode=service.check_mode(mode),
                                               scopes=service.parse_scopes(scopes), name=name,
                                               dialect=dialect)
            await audit.record(s, audit.cli_actor(), "api_key.created", merchant_id=m.id,
                               mode=key.mode, object_type="api_key", object_id=key.id,
                               details={"scopes": list(key.scopes), "name": name,
                                        "dialect": dialect})
            return {"api_key": key.api_key, "id": key.id, "mode": key.mode,
                    "scopes": list(key.scopes), "dialect": dialect}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json,
        lambda: typer.echo(f"{result['api_key']}\n(id {result['id']}; shown once)"))


@keys_app.command("list")
def keys_list(merchant: MerchantOpt, as_json: JsonOpt = False,
              database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """List a merchant's API keys (prefixes only)."""
    from ownpay.merchants import service
    from ownpay.timefmt import iso

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            m = await service.get_merchant(s, merchant)
            return [{"id": k.id, "prefix": k.prefix + "…", "mode": k.mode,
                     "scopes": k.scopes.split(","), "name": k.name, "dialect": k.dialect,
                     "created_at": iso(k.created_at), "last_used_at": iso(k.last_used_at),
                     "revoked_at": iso(k.revoked_at)}
                    for k in await service.list_api_keys(s, merchant=m)]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for r in rows:
            typer.echo(f"{r['id']:>5} {r['prefix']:<16} {r['mode']:<5} "
                       f"{','.join(r['scopes']):<18} {'revoked' if r['revoked_at'] else 'active'}")

    out(rows, as_json, human)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOpt = False,
                database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Revoke an API key (other server processes notice within OWNPAY_AUTH_CACHE_TTL seconds)."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            key = await service.revoke_api_key(s, key_id=key_id)
            await audit.record(s, audit.cli_actor(), "api_key.revoked",
                               merchant_id=key.merchant_id, mode=key.mode, object_type="api_key",
                               object_id=key.id)
            return {"id": key.id, "revoked": True}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(f"revoked key {key_id}"))


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--set expects key=value, got {pair!r}")
        values[key.strip()] = value
    return values


MAX_SETTING_FILE = 64 * 1024


def _read_set_files(pairs: list[str]) -> dict[str, str]:
    """``--set-file key=PATH``: the value is the file's text (a PEM key, say), so it never
    goes through the shell's history or the process list."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, path = pair.partition("=")
        if not sep or not key or not path:
            fail(f"--set-file expects key=PATH, got {pair!r}")
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_SETTING_FILE + 1)
        except OSError as exc:
            fail(f"--set-file {key.strip()}: cannot read {path}: {exc.strerror}")
        if len(raw) > MAX_SETTING_FILE:
            fail(f"--set-file {key.strip()}: {path} is over {MAX_SETTING_FILE // 1024} KiB")
        try:
            values[key.strip()] = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            fail(f"--set-file {key.strip()}: {path} is not UTF-8 text")
    return values


def gateway_settings_help() -> str:
    """Every registered gateway with its modes and ``--set`` keys, from the registry."""
    from ownpay.gateways import registry

    lines = ["Gateways and their --set keys (* required; secrets are stored encrypted):"]
    for slug, gateway in sorted(registry.all_gateways().items()):
        fields = [*gateway.credential_fields, *gateway.setting_fields]
        keys = ", ".join(f"{f.name}{'*' if f.required else ''}" for f in fields) or "no settings"
        modes = "|".join(m for m in ("test", "live") if m in gateway.modes)
        lines.append(f"{slug} ({modes}): {keys}")
    return "\n".join(lines)


class _EnableCommand(Command):
    """Help built when it is shown: the registry imports every adapter (a second or two),
    which no other command should pay for."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.epilog = gateway_settings_help()
        super().format_help(ctx, formatter)


@gateways_app.command("enable", cls=_EnableCommand)
def gateways_enable(gateway: Annotated[str, typer.Argument(
                        metavar="GATEWAY", help="A gateway slug (listed below).")],
                    merchant: MerchantOpt, mode: ModeOpt,
                    set_: Annotated[list[str] | None, typer.Option(
                        "--set", metavar="KEY=VALUE",
                        help="A gateway setting (repeatable).")] = None,
                    set_file: Annotated[list[str] | None, typer.Option(
                        "--set-file", metavar="KEY=PATH",
                        help="A gateway setting read from a file, e.g. a PEM key "
                             "(repeatable).")] = None,
                    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
                    as_json: JsonOpt = False, database_url: DbOpt = None,
                    data_dir: DataOpt = None) -> None:
    """Enable (or reconfigure) a gateway; secret values are stored encrypted, never shown again."""
    from ownpay.merchants import service

    values = {**_parse_sets(set_ or []), **_read_set_files(set_file or [])}

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, merchant)
            acc = await service.enable_gateway(s, ctx.keyring, merchant=m, mode=mode,
                                               gateway=gateway, values=values,
                                               display_name=display_name)
            await audit.record(s, audit.cli_actor(), "gateway.enabled", merchant_id=m.id,
                               mode=acc.mode, object_type="gateway", object_id=acc.gateway,
                               details={"settings": sorted(values), "display_name":
                                        acc.display_name})
            return {"merchant": merchant, "mode": acc.mode, "gateway": acc.gateway,
                    "active": acc.active, "display_name": acc.display_name}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(f"enabled {gateway} for {merchant} ({mode})"))


@gateways_app.command("disable")
def gateways_disable(gateway: Annotated[str, typer.Argument(metavar="GATEWAY")],
                     merchant: MerchantOpt, mode: ModeOpt,
                     as_json: JsonOpt = False, database_url: DbOpt = None,
                     data_dir: DataOpt = None) -> None:
    """Disable a gateway (new intents for it get 404 GATEWAY_NOT_FOUND)."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, merchant)
            acc = await service.disable_gateway(s, merchant=m, mode=mode, gateway=gateway)
            await audit.record(s, audit.cli_actor(), "gateway.disabled", merchant_id=m.id,
                               mode=acc.mode, object_type="gateway", object_id=acc.gateway)
            return {"merchant": merchant, "mode": acc.mode, "gateway": acc.gateway,
                    "active": acc.active}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(f"disabled {gateway} for {merchant} ({mode})"))


@gateways_app.command("list")
def gateways_list(merchant: MerchantOpt, as_json: JsonOpt = False,
                  database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """List a merchant's gateway accounts (credentials are never shown)."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            m = await service.get_merchant(s, merchant)
            return [{"gateway": a.gateway, "mode": a.mode, "active": a.active,
                     "display_name": a.display_name,
                     "has_credentials": bool(a.credentials_enc and len(a.credentials_enc) > 30)}
                    for a in await service.list_gateway_accounts(s, merchant=m)]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for r in rows:
            state = "active" if r["active"] else "inactive"
            typer.echo(f"{r['gateway']:<10} {r['mode']:<5} {state:<9} {r['display_name']}")

    out(rows, as_json, human)


