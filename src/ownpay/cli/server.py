"""Set-up and serving: ``ownpay init``, ``quickstart`` (``make run``), ``migrate``,
``serve`` and ``worker``."""

from __future__ import annotations

import errno
import os
import shutil
import socket
from typing import Annotated, Any

import typer

from ownpay.cli.common import (
    BaseOpt,
    Commands,
    DataOpt,
    DbOpt,
    JsonOpt,
    fail,
    out,
    run_async,
    settings_from,
)
from ownpay.config import Settings, default_base_url

server_app = Commands()

@server_app.command()
def migrate(database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Apply pending database migrations."""
    settings = settings_from(database_url, data_dir)

    async def noop(ctx: Any) -> None:
        return None

    run_async(settings, noop, create_secret=True, migrate=True)
    typer.echo("database is up to date")


@server_app.command()
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


@server_app.command()
def quickstart(database_url: DbOpt = None, data_dir: DataOpt = None, base_url: BaseOpt = None,
               host: Annotated[str | None, typer.Option(envvar="OWNPAY_HOST")] = None,
               port: Annotated[int | None, typer.Option(envvar="OWNPAY_PORT")] = None) -> None:
    """`make run`: init, print a working test key, a curl example and the dashboard's
    sign-in, then serve."""
    from ownpay.setup import initialise, quickstart_key, quickstart_owner

    settings = settings_from(database_url, data_dir, base_url, host=host, port=port)
    _check_can_serve(settings)  # before a key is minted or a curl printed
    result = run_async(settings, initialise, create_secret=True, migrate=True)
    key = result["api_keys"]["test"] or run_async(settings, quickstart_key)
    owner_email, owner_password = run_async(settings, quickstart_owner)
    base = result["base_url"]
    listening = default_base_url(settings.host, settings.port)
    where = base if base == listening else f"{listening}, public URL {base}"
    body = (
        '{"gateway": "sandbox", "amount": 99.99, "currency": "USD", "order_id": "ORDER-001", '
        '"customer_name": "Jane Smith", "customer_email": "jane@example.com", '
        '"return_url": "https://example.com/success"}'
    )
    typer.echo(
        f"""
OwnPay is starting on {where}  (API docs: {base}/docs)

Demo merchant 'demo', test-mode API key (shown once, keep it):
  {key}

Create a payment intent, then open the payment_url it returns:

curl -s -X POST {base}/api/v1/payment-intents \\
  -H "Authorization: Bearer {key}" \\
  -H "Content-Type: application/json" \\
  -d '{body}'

Dashboard: {base}/admin/
  sign in as {owner_email}
  password (shown once, keep it): {owner_password}
"""
    )
    _serve(settings, migrate_first=False)


@server_app.command()
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
    _check_can_serve(settings)
    _serve(settings, migrate_first=True)


def _check_can_serve(settings: Settings) -> None:
    """Refuse, with what to do instead, what would only fail once the server starts."""
    if settings.workers > 1 and settings.is_sqlite:
        fail("SQLite allows one writer: use OWNPAY_WORKERS=1, or PostgreSQL to scale out")
    problem = _bind_problem(settings.host, settings.port)
    if problem is None:
        return
    if problem == "in use":
        other = next((p for p in range(settings.port + 1, min(settings.port + 50, 65536))
                      if _bind_problem(settings.host, p) is None), settings.port + 1)
        fail(f"cannot listen on {settings.host}:{settings.port}: the port is already in use "
             f"(another OwnPay, or another program, is listening there). Choose another "
             f"port: OWNPAY_PORT={other} make run, or ownpay quickstart|serve --port {other} "
             f"(links and the curl follow the port unless OWNPAY_BASE_URL is set).")
    fail(f"cannot listen on {settings.host}:{settings.port}: {problem}. Choose another "
         f"address with OWNPAY_HOST / --host and OWNPAY_PORT / --port.")


def _bind_problem(host: str, port: int) -> str | None:
    """Why uvicorn could not bind ``host:port`` now ("in use", another reason), or None.

    Bound the way uvicorn binds (``SO_REUSEADDR``), then released: a port left in TIME_WAIT
    by a server that just stopped is free, one somebody listens on is not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        return f"the host cannot be resolved ({exc.strerror})"
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return "in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
    return None


def _serve(settings: Settings, *, migrate_first: bool) -> None:
    import uvicorn

    if migrate_first:
        async def noop(ctx: Any) -> None:
            return None

        run_async(settings, noop, create_secret=False, migrate=True)
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


@server_app.command()
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
    run_async(settings, run_forever, quiet=False)


