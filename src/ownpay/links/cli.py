"""``ownpay links …``: payment links from the command line -- the same checks, the same
answers as ``/api/v1/payment-links`` (``links/service.py``), audited as ``ownpay`` actions."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from

links_app: typer.Typer = Commands(
    help="Payment links: pages customers pay on without the merchant's website.",
    no_args_is_help=True)

MerchantOpt = Annotated[str, typer.Option(help="Merchant (brand) slug.")]
ModeOpt = Annotated[str, typer.Option(help="test or live.")]
FieldOpt = Annotated[list[str] | None, typer.Option(
    "--field", help='A field the customer fills in, as JSON: {"name": "size", "label": '
    '"Size", "type": "select", "required": true, "options": ["S", "M"]}; repeatable.')]
GatewayOpt = Annotated[list[str] | None, typer.Option(
    "--gateway", help="A gateway the customer may pay with; repeatable (default: all).")]


def _fields(raw: list[str] | None) -> list[Any] | None:
    if raw is None:
        return None
    try:
        return [json.loads(item) for item in raw]
    except json.JSONDecodeError as exc:
        fail(f"--field is one JSON object each: {exc.msg}")


async def _run(ctx: Any, merchant: str, mode: str, work: Any) -> dict[str, Any]:
    from ownpay.links import service
    from ownpay.merchants import service as merchants
    from ownpay.merchants.accounts import public_base_url
    from ownpay.tenancy import TenantScope

    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant)
        scope = TenantScope(m.id, merchants.check_mode(mode))
        links, action = await work(s, scope)
        paid = await service.paid_counts(s, [link.id for link in links])
        base = public_base_url(ctx, m.public_root)
        shown = [service.serialize(link, base_url=base, paid=paid.get(link.id, 0))
                 for link in links]
        if action:
            await audit.record(s, audit.cli_actor(), action, merchant_id=m.id, mode=scope.mode,
                               object_type="payment_link", object_id=links[0].id)
        return {"data": shown}


def _line(link: dict[str, Any]) -> str:
    price = (f"{link['amount']} {link['currency']}" if link["amount"] else
             f"{link['min_amount'] or 'any'}–{link['max_amount'] or 'any'} {link['currency']}")
    state = "active" if link["active"] else "off"
    return f"{link['id']}  {state:<6} {price:<22} paid {link['paid_count']:<4} {link['url']}"


def _terms(**given: Any) -> dict[str, Any]:
    return {name: value for name, value in given.items() if value is not None}


@links_app.command("create")
def links_create(
    merchant: MerchantOpt,
    title: Annotated[str, typer.Option(help="The page's heading.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")],
    amount: Annotated[str | None, typer.Option(help="A fixed price.")] = None,
    min_amount: Annotated[str | None, typer.Option(help="Or: the customer's least.")] = None,
    max_amount: Annotated[str | None, typer.Option(help="Or: the customer's most.")] = None,
    slug: Annotated[str | None, typer.Option(help="The page's /pay/{slug}.")] = None,
    description: Annotated[str | None, typer.Option(help="Shown under the title.")] = None,
    image_url: Annotated[str | None, typer.Option(help="An image for the page.")] = None,
    gateway: GatewayOpt = None, field: FieldOpt = None,
    max_uses: Annotated[int | None, typer.Option(help="At most this many payments.")] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601, with its offset.")] = None,
    redirect_url: Annotated[str | None, typer.Option(help="Where payers go after.")] = None,
    mode: ModeOpt = "live", as_json: JsonOpt = False, database_url: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Make a payment link and print its URL."""
    from ownpay.links import service

    body = _terms(title=title, currency=currency, amount=amount, min_amount=min_amount,
                  max_amount=max_amount, slug=slug, description=description,
                  image_url=image_url, gateways=gateway, fields=_fields(field),
                  max_uses=max_uses, expires_at=expires_at, redirect_url=redirect_url)

    async def go(ctx: Any) -> dict[str, Any]:
        async def work(s: Any, scope: Any) -> Any:
            link = await service.create_link(s, scope, body, settings=ctx.settings)
            return [link], "payment_link.created"
        return await _run(ctx, merchant, mode, work)

    shown = run_async(settings_from(database_url, data_dir), go)["data"][0]
    out(shown, as_json, lambda: typer.echo(_line(shown)))


@links_app.command("list")
def links_list(merchant: MerchantOpt, mode: ModeOpt = "live",
               limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
               as_json: JsonOpt = False, database_url: DbOpt = None,
               data_dir: DataOpt = None) -> None:
    """The brand's links, newest first, with how many were paid."""
    from ownpay.links import service

    async def go(ctx: Any) -> dict[str, Any]:
        async def work(s: Any, scope: Any) -> Any:
            rows, _ = await service.list_links(s, scope, limit=limit, starting_after=None)
            return rows, None
        return await _run(ctx, merchant, mode, work)

    rows = run_async(settings_from(database_url, data_dir), go)["data"]
    out(rows, as_json, lambda: typer.echo("\n".join(_line(r) for r in rows) or "no links"))


@links_app.command("show")
def links_show(link_id: Annotated[str, typer.Argument(help="plink_…")], merchant: MerchantOpt,
               mode: ModeOpt = "live", as_json: JsonOpt = False, database_url: DbOpt = None,
               data_dir: DataOpt = None) -> None:
    """One link with all its terms."""
    from ownpay.links import service

    async def go(ctx: Any) -> dict[str, Any]:
        async def work(s: Any, scope: Any) -> Any:
            return [await service.get_link(s, scope, link_id)], None
        return await _run(ctx, merchant, mode, work)

    shown = run_async(settings_from(database_url, data_dir), go)["data"][0]
    out(shown, as_json, lambda: typer.echo("\n".join(
        f"{name}: {value}" for name, value in shown.items() if value not in (None, [], ""))))


@links_app.command("update")
def links_update(
    link_id: Annotated[str, typer.Argument(help="plink_…")], merchant: MerchantOpt,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    active: Annotated[bool | None, typer.Option(
        "--active/--inactive", help="Turn the page on or off.")] = None,
    amount: Annotated[str | None, typer.Option(help="A new fixed price.")] = None,
    max_uses: Annotated[int | None, typer.Option(help="A new cap.")] = None,
    expires_at: Annotated[str | None, typer.Option(help="A new expiry (ISO 8601).")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    gateway: GatewayOpt = None, field: FieldOpt = None,
    mode: ModeOpt = "live", as_json: JsonOpt = False, database_url: DbOpt = None,
    data_dir: DataOpt = None,
) -> None:
    """Change only the terms given (the API's PATCH)."""
    from ownpay.links import service

    body = _terms(title=title, active=active, amount=amount, max_uses=max_uses,
                  expires_at=expires_at, description=description, gateways=gateway,
                  fields=_fields(field))

    async def go(ctx: Any) -> dict[str, Any]:
        async def work(s: Any, scope: Any) -> Any:
            link = await service.update_link(s, scope, link_id, body, settings=ctx.settings)
            return [link], "payment_link.updated"
        return await _run(ctx, merchant, mode, work)

    shown = run_async(settings_from(database_url, data_dir), go)["data"][0]
    out(shown, as_json, lambda: typer.echo(_line(shown)))
