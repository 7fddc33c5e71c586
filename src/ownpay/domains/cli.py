"""``ownpay domains …``: a brand's domains from the command line -- the same checks and
answers as ``/api/v1/domains`` (``domains/service.py``), audited as ``ownpay`` actions.
A domain is named by its id (``dom_…``) or by the domain itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, out, run_async, settings_from

domains_app: typer.Typer = Commands(
    help="A brand's own domains: add, verify by DNS, make primary, remove.",
    no_args_is_help=True)

MerchantOpt = Annotated[str, typer.Option(help="Merchant (brand) slug.")]
DomainArg = Annotated[str, typer.Argument(help="dom_… or the domain, e.g. pay.example.com.")]


async def _id_of(s: Any, merchant_id: int, given: str) -> str:
    from ownpay.domains import service

    if given.startswith("dom_"):
        return given
    return (await service.get_by_name(s, merchant_id, given)).id


Work = Callable[[Any, Any, int], Awaitable[tuple[list[Any], str | None]]]


async def _run(ctx: Any, merchant: str, work: Work) -> list[dict[str, Any]]:
    from ownpay.domains import presenters
    from ownpay.merchants import service as merchants

    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant)
        rows, action = await work(ctx, s, m.id)
        if action:
            await audit.record(s, audit.cli_actor(), action, merchant_id=m.id, mode=None,
                               object_type="domain", object_id=rows[0].id,
                               details={"domain": rows[0].domain})
        return [presenters.domain_view(ctx.settings, row) for row in rows]


def _line(d: dict[str, Any]) -> str:
    flag = " primary" if d["primary"] else ""
    why = f"  ({d['last_error']})" if d["last_error"] and d["status"] != "verified" else ""
    return f"{d['id']}  {d['status']:<9} {d['domain']}{flag}{why}"


def _records(d: dict[str, Any]) -> str:
    lines = [_line(d), "Create these DNS records:"]
    lines += [f"  {r['name']}  {r['type']}  {r['value']}" for r in d["dns_records"]]
    return "\n".join(lines)


def _go(merchant: str, work: Work, database_url: str | None,
        data_dir: str | None) -> list[dict[str, Any]]:
    async def go(ctx: Any) -> list[dict[str, Any]]:
        return await _run(ctx, merchant, work)
    return run_async(settings_from(database_url, data_dir), go)


@domains_app.command("add")
def domains_add(domain: Annotated[str, typer.Argument(help="e.g. pay.example.com")],
                merchant: MerchantOpt, as_json: JsonOpt = False, database_url: DbOpt = None,
                data_dir: DataOpt = None) -> None:
    """Add a domain (pending) and print the DNS records that verify it."""
    from ownpay.domains import service

    async def work(ctx: Any, s: Any, merchant_id: int) -> tuple[list[Any], str | None]:
        return [await service.add_domain(s, merchant_id, domain,
                                         settings=ctx.settings)], "domain.added"

    [shown] = _go(merchant, work, database_url, data_dir)
    out(shown, as_json, lambda: typer.echo(_records(shown)))


@domains_app.command("list")
def domains_list(merchant: MerchantOpt, as_json: JsonOpt = False, database_url: DbOpt = None,
                 data_dir: DataOpt = None) -> None:
    """The brand's domains with their status."""
    from ownpay.domains import service

    async def work(ctx: Any, s: Any, merchant_id: int) -> tuple[list[Any], str | None]:
        return await service.list_domains(s, merchant_id), None

    rows = _go(merchant, work, database_url, data_dir)
    out(rows, as_json, lambda: typer.echo("\n".join(_line(r) for r in rows) or "no domains"))


@domains_app.command("verify")
def domains_verify(domain: DomainArg, merchant: MerchantOpt, as_json: JsonOpt = False,
                   database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Check the domain's DNS now; exits 1 unless it is verified."""
    from ownpay.domains import service
    from ownpay.merchants import service as merchants

    async def go(ctx: Any) -> dict[str, Any]:
        from ownpay.domains import presenters

        async with ctx.sessions() as s:
            m = await merchants.get_merchant(s, merchant)
            domain_id = await _id_of(s, m.id, domain)
        row = await service.verify(ctx, m.id, domain_id)  # no transaction across DNS
        async with ctx.sessions() as s, s.begin():
            await audit.record(s, audit.cli_actor(), "domain.checked", merchant_id=m.id,
                               mode=None, object_type="domain", object_id=row.id,
                               details={"domain": row.domain, "status": row.status})
        return presenters.domain_view(ctx.settings, row)

    shown = run_async(settings_from(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(_records(shown) if shown["status"] != "verified"
                                           else _line(shown)))
    if shown["status"] != "verified":
        raise typer.Exit(1)


@domains_app.command("primary")
def domains_primary(domain: DomainArg, merchant: MerchantOpt, as_json: JsonOpt = False,
                    database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Make a verified domain the one payment URLs use."""
    from ownpay.domains import service

    async def work(ctx: Any, s: Any, merchant_id: int) -> tuple[list[Any], str | None]:
        row = await service.set_primary(s, merchant_id, await _id_of(s, merchant_id, domain))
        return [row], "domain.primary"

    [shown] = _go(merchant, work, database_url, data_dir)
    out(shown, as_json, lambda: typer.echo(_line(shown)))


@domains_app.command("remove")
def domains_remove(domain: DomainArg, merchant: MerchantOpt, as_json: JsonOpt = False,
                   database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Stop serving the brand on the domain."""
    from ownpay.domains import service

    async def work(ctx: Any, s: Any, merchant_id: int) -> tuple[list[Any], str | None]:
        row = await service.remove_domain(s, merchant_id, await _id_of(s, merchant_id, domain))
        return [row], "domain.removed"

    [shown] = _go(merchant, work, database_url, data_dir)
    out({"id": shown["id"], "deleted": True}, as_json,
        lambda: typer.echo(f"removed {shown['domain']}"))
