"""``ownpay customers …``: customers from the command line -- the same checks and answers
as ``/api/v1/customers`` (``customers/service.py``), audited as ``ownpay`` actions (by
field names only, never the values)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from

customers_app: typer.Typer = Commands(
    help="Customers: a brand's payers, encrypted at rest, found by e-mail or phone digest.",
    no_args_is_help=True)

MerchantOpt = Annotated[str, typer.Option(help="Merchant (brand) slug.")]
ModeOpt = Annotated[str, typer.Option(help="test or live.")]
IdArg = Annotated[str, typer.Argument(help="cus_…")]
NameOpt = Annotated[str | None, typer.Option(help="The customer's name.")]
EmailOpt = Annotated[str | None, typer.Option(help="An e-mail address.")]
PhoneOpt = Annotated[str | None, typer.Option(help="A phone number (E.164, or 01… in BD).")]
MetaOpt = Annotated[str | None, typer.Option(help='Metadata as a JSON object: {"crm": "C1"}.')]


def _metadata(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"--metadata is one JSON object: {exc.msg}")


def _body(**given: Any) -> dict[str, Any]:
    return {name: value for name, value in given.items() if value is not None}


async def _run(ctx: Any, merchant: str, mode: str, work: Any) -> list[dict[str, Any]]:
    from ownpay.customers import service
    from ownpay.merchants import service as merchants
    from ownpay.tenancy import TenantScope

    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant)
        scope = TenantScope(m.id, merchants.check_mode(mode))
        customers, action, details = await work(s, scope)
        if action:
            await audit.record(s, audit.cli_actor(), action, merchant_id=m.id, mode=scope.mode,
                               object_type="customer", object_id=customers[0].id,
                               details=details)
        return [service.serialize(ctx.keyring, c) for c in customers]


def _line(c: dict[str, Any]) -> str:
    if c["forgotten"]:
        return f"{c['id']}  (forgotten {c['forgotten_at']})"
    return "  ".join([c["id"], c["name"] or "-", c["email"] or "-", c["phone"] or "-"])


def _show(c: dict[str, Any]) -> None:
    typer.echo("\n".join(f"{name}: {value}" for name, value in c.items()
                         if value not in (None, {}, "")))


def _settings(database_url: str | None, data_dir: str | None) -> Any:
    return settings_from(database_url, data_dir)


@customers_app.command("create")
def customers_create(merchant: MerchantOpt, name: NameOpt = None, email: EmailOpt = None,
                     phone: PhoneOpt = None, metadata: MetaOpt = None, mode: ModeOpt = "live",
                     as_json: JsonOpt = False, database_url: DbOpt = None,
                     data_dir: DataOpt = None) -> None:
    """Make a customer (at least one of --name, --email, --phone)."""
    from ownpay.customers import service

    body = _body(name=name, email=email, phone=phone, metadata=_metadata(metadata))

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async def work(s: Any, scope: Any) -> Any:
            made = await service.create_customer(s, ctx.keyring, scope, body)
            return [made], "customer.created", {"fields": sorted(body)}
        return await _run(ctx, merchant, mode, work)

    [shown] = run_async(_settings(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(_line(shown)))


@customers_app.command("list")
def customers_list(merchant: MerchantOpt, email: EmailOpt = None, phone: PhoneOpt = None,
                   mode: ModeOpt = "live",
                   limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
                   as_json: JsonOpt = False, database_url: DbOpt = None,
                   data_dir: DataOpt = None) -> None:
    """The brand's customers, newest first; --email / --phone find one by digest."""
    from ownpay.customers import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async def work(s: Any, scope: Any) -> Any:
            rows, _ = await service.list_customers(s, ctx.keyring, scope, limit=limit,
                                                   starting_after=None, email=email,
                                                   phone=phone)
            return rows, None, None
        return await _run(ctx, merchant, mode, work)

    rows = run_async(_settings(database_url, data_dir), go)
    out(rows, as_json, lambda: typer.echo("\n".join(_line(r) for r in rows) or "no customers"))


@customers_app.command("show")
def customers_show(customer_id: IdArg, merchant: MerchantOpt, mode: ModeOpt = "live",
                   as_json: JsonOpt = False, database_url: DbOpt = None,
                   data_dir: DataOpt = None) -> None:
    """One customer."""
    from ownpay.customers import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async def work(s: Any, scope: Any) -> Any:
            return [await service.get_customer(s, scope, customer_id)], None, None
        return await _run(ctx, merchant, mode, work)

    [shown] = run_async(_settings(database_url, data_dir), go)
    out(shown, as_json, lambda: _show(shown))


@customers_app.command("update")
def customers_update(customer_id: IdArg, merchant: MerchantOpt, name: NameOpt = None,
                     email: EmailOpt = None, phone: PhoneOpt = None, metadata: MetaOpt = None,
                     mode: ModeOpt = "live", as_json: JsonOpt = False,
                     database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Change only the details given (the API's PATCH)."""
    from ownpay.customers import service

    body = _body(name=name, email=email, phone=phone, metadata=_metadata(metadata))

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async def work(s: Any, scope: Any) -> Any:
            changed = await service.update_customer(s, ctx.keyring, scope, customer_id, body)
            return [changed], "customer.updated", {"fields": sorted(body)}
        return await _run(ctx, merchant, mode, work)

    [shown] = run_async(_settings(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(_line(shown)))


@customers_app.command("forget")
def customers_forget(customer_id: IdArg, merchant: MerchantOpt, mode: ModeOpt = "live",
                     as_json: JsonOpt = False, database_url: DbOpt = None,
                     data_dir: DataOpt = None) -> None:
    """Erase a customer's name, e-mail, phone and metadata, and those on its payments (the
    money records stay). Cannot be undone."""
    from ownpay.customers import service

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async def work(s: Any, scope: Any) -> Any:
            customer, cleaned = await service.forget_customer(s, ctx.keyring, scope, customer_id)
            if cleaned is None:
                return [customer], None, None
            return [customer], "customer.forgotten", {"payments_cleaned": cleaned}
        return await _run(ctx, merchant, mode, work)

    [shown] = run_async(_settings(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(_line(shown)))
