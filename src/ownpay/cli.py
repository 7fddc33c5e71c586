"""The ``ownpay`` command line.  Every listing/creating command has ``--json``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ownpay.config import ConfigError, Settings, load_settings

T = TypeVar("T")

app = typer.Typer(help="OwnPay: self-hosted payment orchestrator.", no_args_is_help=True)
merchants_app = typer.Typer(help="Merchants (brands).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
gateways_app = typer.Typer(help="Gateway accounts per merchant and mode.", no_args_is_help=True)
payments_app = typer.Typer(help="Operate on payments.", no_args_is_help=True)
dev_app = typer.Typer(help="Developer tools (simulators).", no_args_is_help=True)
app.add_typer(merchants_app, name="merchants")
app.add_typer(keys_app, name="api-keys")
app.add_typer(gateways_app, name="gateways")
app.add_typer(payments_app, name="payments")
app.add_typer(dev_app, name="dev")

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
            Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
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


# ---- set-up and serving ------------------------------------------------------------------


@app.command()
def migrate(database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Apply pending database migrations."""
    settings = settings_from(database_url, data_dir)

    async def noop(ctx: Any) -> None:
        return None

    run_async(settings, noop, create_secret=True, migrate=True)
    typer.echo("database is up to date")


@app.command()
def init(as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None,
         base_url: BaseOpt = None) -> None:
    """Idempotent set-up: data dir, secret key, database, demo merchant, gateways, keys."""
    from ownpay.setup import initialise

    settings = settings_from(database_url, data_dir, base_url)
    result = run_async(settings, initialise, create_secret=True, migrate=True)
    out(result, as_json, lambda: _print_init(result))


def _print_init(result: dict[str, Any]) -> None:
    typer.echo(f"merchant: {result['merchant']}   base URL: {result['base_url']}")
    for mode, key in result["api_keys"].items():
        typer.echo(f"{mode} API key: {key or '(exists; shown only when created)'}")


@app.command()
def quickstart(database_url: DbOpt = None, data_dir: DataOpt = None, base_url: BaseOpt = None,
               host: Annotated[str | None, typer.Option(envvar="OWNPAY_HOST")] = None,
               port: Annotated[int | None, typer.Option(envvar="OWNPAY_PORT")] = None) -> None:
    """`make run`: init, print a working test key and a curl example, then serve."""
    from ownpay.setup import initialise, quickstart_key

    settings = settings_from(database_url, data_dir, base_url, host=host, port=port)
    result = run_async(settings, initialise, create_secret=True, migrate=True)
    key = result["api_keys"]["test"] or run_async(settings, quickstart_key)
    base = result["base_url"]
    body = (
        '{"gateway": "sandbox", "amount": 99.99, "currency": "USD", "order_id": "ORDER-001", '
        '"customer_name": "Jane Smith", "customer_email": "jane@example.com", '
        '"return_url": "https://example.com/success"}'
    )
    typer.echo(
        f"""
OwnPay is starting on {base}  (API docs: {base}/docs)

Demo merchant 'demo', test-mode API key (shown once, keep it):
  {key}

Create a payment intent, then open the payment_url it returns:

curl -s -X POST {base}/api/v1/payment-intents \\
  -H "Authorization: Bearer {key}" \\
  -H "Content-Type: application/json" \\
  -d '{body}'
"""
    )
    _serve(settings, migrate_first=False)


@app.command()
def serve(host: Annotated[str | None, typer.Option(envvar="OWNPAY_HOST")] = None,
          port: Annotated[int | None, typer.Option(envvar="OWNPAY_PORT")] = None,
          workers: Annotated[int | None, typer.Option(
              envvar="OWNPAY_WORKERS",
              help="HTTP worker processes (PostgreSQL only for >1).")] = None,
          no_worker: Annotated[bool, typer.Option(
              "--no-worker", help="Do not embed the background worker.")] = False,
          database_url: DbOpt = None, data_dir: DataOpt = None, base_url: BaseOpt = None) -> None:
    """Apply pending migrations and serve the API and checkout pages."""
    settings = settings_from(database_url, data_dir, base_url, host=host, port=port,
                             workers=workers, run_worker=False if no_worker else None)
    _serve(settings, migrate_first=True)


def _serve(settings: Settings, *, migrate_first: bool) -> None:
    import uvicorn

    if migrate_first:
        async def noop(ctx: Any) -> None:
            return None

        run_async(settings, noop, create_secret=False, migrate=True)
    if settings.workers > 1 and settings.is_sqlite:
        fail("SQLite allows one writer: use OWNPAY_WORKERS=1, or PostgreSQL to scale out")
    # Child processes rebuild settings from the environment: pass what the flags changed.
    os.environ.update({
        "OWNPAY_DATA_DIR": str(settings.data_dir),
        "OWNPAY_BASE_URL": settings.base_url,
        "OWNPAY_RUN_WORKER": "true" if settings.run_worker else "false",
    })
    if settings.database_url:
        os.environ["OWNPAY_DATABASE_URL"] = settings.database_url
    if settings.workers > 1:
        # Each HTTP worker process writes its metrics here; a scrape aggregates them all.
        prom_dir = settings.data_dir / "prometheus"
        shutil.rmtree(prom_dir, ignore_errors=True)
        prom_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom_dir.resolve())
    uvicorn.run(
        "ownpay.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


@app.command()
def worker(database_url: DbOpt = None, data_dir: DataOpt = None,
           metrics_port: Annotated[int | None, typer.Option(
               envvar="OWNPAY_WORKER_METRICS_PORT",
               help="Serve Prometheus metrics on 127.0.0.1:PORT.")] = None) -> None:
    """Run the background worker alone (expiry, reconciliation, webhook delivery)."""
    from ownpay.worker import run_forever

    settings = settings_from(database_url, data_dir)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    run_async(settings, run_forever)


# ---- merchants, keys, gateways ------------------------------------------------------------


@merchants_app.command("create")
def merchants_create(slug: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
                     base_url: Annotated[str | None, typer.Option("--base-url")] = None,
                     logo_url: Annotated[str | None, typer.Option("--logo-url")] = None,
                     primary_color: Annotated[str | None, typer.Option("--primary-color")] = None,
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
                                              intent_lifetime=intent_lifetime)
            return {"id": m.id, "slug": m.slug, "name": m.name, "base_url": m.base_url}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json,
        lambda: typer.echo(f"created merchant {result['slug']} (id {result['id']})"))


@merchants_app.command("list")
def merchants_list(as_json: JsonOpt = False, database_url: DbOpt = None,
                   data_dir: DataOpt = None) -> None:
    """List merchants."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            return [{"id": m.id, "slug": m.slug, "name": m.name, "status": m.status,
                     "base_url": m.base_url} for m in await service.list_merchants(s)]

    rows = run_async(settings_from(database_url, data_dir), go)

    def human() -> None:
        for r in rows:
            typer.echo(f"{r['slug']:<20} {r['status']:<8} {r['name']}")

    out(rows, as_json, human)


@keys_app.command("create")
def keys_create(merchant: Annotated[str, typer.Option()], mode: Annotated[str, typer.Option()],
                scopes: Annotated[str | None, typer.Option(
                    help="Comma-separated: read,write,admin (default all).")] = None,
                name: Annotated[str | None, typer.Option()] = None,
                as_json: JsonOpt = False, database_url: DbOpt = None,
                data_dir: DataOpt = None) -> None:
    """Create an API key; the key is printed once and never again."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, merchant)
            key = await service.create_api_key(s, merchant=m, mode=service.check_mode(mode),
                                               scopes=service.parse_scopes(scopes), name=name)
            return {"api_key": key.api_key, "id": key.id, "mode": key.mode,
                    "scopes": list(key.scopes)}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json,
        lambda: typer.echo(f"{result['api_key']}\n(id {result['id']}; shown once)"))


@keys_app.command("list")
def keys_list(merchant: Annotated[str, typer.Option()], as_json: JsonOpt = False,
              database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """List a merchant's API keys (prefixes only)."""
    from ownpay.merchants import service
    from ownpay.timefmt import iso

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            m = await service.get_merchant(s, merchant)
            return [{"id": k.id, "prefix": k.prefix + "…", "mode": k.mode,
                     "scopes": k.scopes.split(","), "name": k.name,
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


@gateways_app.command("enable")
def gateways_enable(gateway: Annotated[str, typer.Argument(metavar="GATEWAY")],
                    merchant: Annotated[str, typer.Option()], mode: Annotated[str, typer.Option()],
                    set_: Annotated[list[str] | None, typer.Option(
                        "--set", help="key=value (repeatable)")] = None,
                    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
                    as_json: JsonOpt = False, database_url: DbOpt = None,
                    data_dir: DataOpt = None) -> None:
    """Enable (or reconfigure) a gateway; secret values are stored encrypted, never shown again."""
    from ownpay.merchants import service

    values = _parse_sets(set_ or [])

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, merchant)
            acc = await service.enable_gateway(s, ctx.keyring, merchant=m, mode=mode,
                                               gateway=gateway, values=values,
                                               display_name=display_name)
            return {"merchant": merchant, "mode": acc.mode, "gateway": acc.gateway,
                    "active": acc.active, "display_name": acc.display_name}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(f"enabled {gateway} for {merchant} ({mode})"))


@gateways_app.command("disable")
def gateways_disable(gateway: Annotated[str, typer.Argument(metavar="GATEWAY")],
                     merchant: Annotated[str, typer.Option()], mode: Annotated[str, typer.Option()],
                     as_json: JsonOpt = False, database_url: DbOpt = None,
                     data_dir: DataOpt = None) -> None:
    """Disable a gateway (new intents for it get 404 GATEWAY_NOT_FOUND)."""
    from ownpay.merchants import service

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, merchant)
            acc = await service.disable_gateway(s, merchant=m, mode=mode, gateway=gateway)
            return {"merchant": merchant, "mode": acc.mode, "gateway": acc.gateway,
                    "active": acc.active}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(f"disabled {gateway} for {merchant} ({mode})"))


@gateways_app.command("list")
def gateways_list(merchant: Annotated[str, typer.Option()], as_json: JsonOpt = False,
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


# ---- payments -------------------------------------------------------------------------------


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


@dev_app.command("bkash-simulator")
def dev_bkash(port: Annotated[int, typer.Option()] = 8420,
              host: Annotated[str, typer.Option()] = "127.0.0.1") -> None:
    """Run the bKash Tokenized Checkout simulator for local demos."""
    from ownpay.devtools.bkash_simulator import main as run_sim

    run_sim(host, port)


from ownpay.webhooks.cli import webhooks_app  # noqa: E402 - needs the option types above

app.add_typer(webhooks_app, name="webhooks")

from ownpay.ledger.cli import fees_app, ledger_app  # noqa: E402
from ownpay.refunds.cli import refunds_app  # noqa: E402

app.add_typer(refunds_app, name="refunds")
app.add_typer(ledger_app, name="ledger")
app.add_typer(fees_app, name="fees")

from ownpay.transactions.cli import transactions_app  # noqa: E402

app.add_typer(transactions_app, name="transactions")


def main() -> None:
    try:
        app()
    except ConfigError as exc:  # raised before a command could catch it
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)


