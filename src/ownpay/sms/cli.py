"""``ownpay sms …`` (the pattern tester, the inbox, alerts) and ``ownpay devices …``
(pairing codes, forwarder URLs, listing, revocation) -- issue 13."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import Commands, DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from

sms_app: typer.Typer = Commands(
    help="Wallet SMS (personal bKash, Nagad, Rocket, Upay): tester, inbox, alerts.",
    no_args_is_help=True)


@sms_app.command("parse")
def sms_parse(
    sender: Annotated[str, typer.Option(
        help="The sender id the phone shows (bKash, NAGAD, 16216, upay, …).")],
    as_json: JsonOpt = False,
) -> None:
    """Read one message from standard input and show what the parsers make of it: its
    kind (received, cash_in, debit, cashback, otp, promotion, unrecognised, not_a_provider),
    the pattern that matched and the fields it read.  Changes nothing; exits 1 when no
    pattern recognises the message."""
    from ownpay.sms.parsing import NOT_A_PROVIDER, UNRECOGNISED, parse

    result = parse(sender, sys.stdin.read())
    shown = result.as_dict()
    out(shown, as_json, lambda: typer.echo("\n".join(
        f"{name}: {value}" for name, value in shown.items() if value is not None)))
    if result.kind in (NOT_A_PROVIDER, UNRECOGNISED):
        raise typer.Exit(1)


MerchantOpt = Annotated[str | None, typer.Option(
    help="Merchant (brand) slug; or --installation.")]
InstallationOpt = Annotated[bool, typer.Option(
    "--installation", help="The installation's own phones (shared by the brands whose "
    "wallet gateways show their wallet numbers) instead of one brand's.")]


def _lines(rows: list[dict[str, Any]], empty: str,
           line: Callable[[dict[str, Any]], str]) -> None:
    for row in rows:
        typer.echo(line(row))
    if not rows:
        typer.echo(empty)
ModeOpt = Annotated[str, typer.Option(help="test or live.")]


def _whose(merchant: str | None, installation: bool) -> str:
    """Exactly one of --merchant and --installation; what the messages call the owner."""
    if (merchant is None) == (not installation):
        fail("give --merchant SLUG or --installation (one of them)")
    return merchant or "the installation"


def _scope(session: Any, merchant: str | None, mode: str) -> Any:
    """The brand's scope, or the installation's (``merchant`` None) -- ``devices.Owner``."""
    from ownpay.merchants import service as merchants
    from ownpay.sms.devices import Installation
    from ownpay.tenancy import TenantScope

    async def find() -> TenantScope | Installation:
        if merchant is None:
            return Installation(merchants.check_mode(mode))
        m = await merchants.get_merchant(session, merchant)
        return TenantScope(m.id, merchants.check_mode(mode))
    return find()


async def _device(session: Any, merchant: str | None, mode: str, device_id: str) -> Any:
    """The owner's scope and its device ``device_id`` (another owner's: the command fails)."""
    from ownpay.sms import devices

    scope = await _scope(session, merchant, mode)
    try:
        return scope, await devices.get(session, scope, device_id)
    except LookupError as exc:
        fail(str(exc))


@sms_app.command("inbox")
def sms_inbox(merchant: MerchantOpt = None, installation: InstallationOpt = False,
              mode: ModeOpt = "live",
              status: Annotated[str | None, typer.Option(
                  help="Only matched, waiting, review or ignored.")] = None,
              limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
              as_json: JsonOpt = False, database_url: DbOpt = None,
              data_dir: DataOpt = None) -> None:
    """The brand's forwarded messages, newest first, with what was read and decided; with
    --installation, what the installation's phones received and no brand was given yet."""
    from ownpay.sms import repository
    from ownpay.sms.presenters import message_view

    _whose(merchant, installation)
    if status is not None and status not in repository.STATUSES:
        fail("--status is one of matched, waiting, review, ignored")

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            scope = await _scope(s, merchant, mode)
            rows = await repository.recent_messages(s, scope, status=status, limit=limit)
            return [message_view(r) for r in rows]

    rows = run_async(settings_from(database_url, data_dir), go)
    out(rows, as_json, lambda: _lines(rows, "no messages", lambda r: (
        f"{r['id']}  {r['status']:<8} {r['kind']:<13} {r['provider'] or '-':<7} "
        f"{r['amount'] or '-':>10} {r['trx_id'] or '-':<12} {r['decision'] or ''}")))


@sms_app.command("alerts")
def sms_alerts(merchant: MerchantOpt = None, installation: InstallationOpt = False,
               mode: ModeOpt = "live",
               resolve: Annotated[int | None, typer.Option(
                   help="Mark this alert as looked at.")] = None,
               as_json: JsonOpt = False, database_url: DbOpt = None,
               data_dir: DataOpt = None) -> None:
    """Open alerts: sequence gaps (messages that never arrived), balance breaks, devices
    gone quiet."""
    from sqlalchemy import select, update

    from ownpay.db import utcnow
    from ownpay.sms.models import SmsAlert, owned_by
    from ownpay.sms.presenters import alert_view

    whose = _whose(merchant, installation)

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s, s.begin():
            scope = await _scope(s, merchant, mode)
            mine = (owned_by(SmsAlert.merchant_id, scope.merchant_id), SmsAlert.mode == scope.mode)
            if resolve is not None:
                done = await s.execute(update(SmsAlert).where(
                    SmsAlert.id == resolve, *mine, SmsAlert.resolved_at.is_(None))
                    .values(resolved_at=utcnow()))
                if not done.rowcount:
                    fail(f"no open alert {resolve} for {whose} ({scope.mode})")
                await audit.record(s, audit.cli_actor(), "sms_alert.resolved",
                                   merchant_id=scope.merchant_id, mode=scope.mode,
                                   object_type="sms_alert", object_id=resolve)
            rows = await s.scalars(select(SmsAlert).where(*mine, SmsAlert.resolved_at.is_(None))
                                   .order_by(SmsAlert.created_at, SmsAlert.id))
            return [alert_view(r) for r in rows]

    rows = run_async(settings_from(database_url, data_dir), go)
    out(rows, as_json, lambda: _lines(rows, "no open alerts",
                                      lambda r: f"{r['id']}  {r['kind']:<8} {r['message']}"))


devices_app: typer.Typer = Commands(
    help="Paired phones and SMS forwarders that send wallet SMS.", no_args_is_help=True)


@devices_app.command("pair")
def devices_pair(merchant: MerchantOpt = None, installation: InstallationOpt = False,
                 mode: ModeOpt = "live", as_json: JsonOpt = False,
                 database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """A one-time 6-digit code the phone app exchanges for its tokens (5 minutes, single
    use; making a new code cancels the brand's -- or the installation's -- earlier ones)."""
    from ownpay.db import utcnow
    from ownpay.sms import devices
    from ownpay.timefmt import iso_required

    _whose(merchant, installation)

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            scope = await _scope(s, merchant, mode)
            if await ctx.rate_limiter.hit("pairing_codes", str(scope.merchant_id or 0)):
                fail("too many pairing codes in the last hour")
            code, expires = await devices.create_pairing_code(s, scope, now=utcnow())
            await audit.record(s, audit.cli_actor(), "device.pairing_code",
                               merchant_id=scope.merchant_id, mode=scope.mode,
                               object_type="sms_device", object_id=None)
        return {"code": code, "expires_at": iso_required(expires), "mode": scope.mode,
                "installation": scope.merchant_id is None,
                "pair_url": f"{ctx.settings.base_url.rstrip('/')}/api/mobile/v1/devices"}

    shown = run_async(settings_from(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(
        f"pairing code {shown['code']} (valid until {shown['expires_at']}); in the app, "
        f"server {shown['pair_url']}"))


@devices_app.command("add-forwarder")
def devices_add_forwarder(name: Annotated[str, typer.Option(
        help="What the phone is called (e.g. 'shop bKash phone').")],
        merchant: MerchantOpt = None, installation: InstallationOpt = False,
        mode: ModeOpt = "live",
        wallet: Annotated[str | None, typer.Option(
            help="The wallet number(s) whose SMS it receives, comma-separated: matching "
            "then considers only payments to them.")] = None,
        as_json: JsonOpt = False, database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """A device for the generic SMS-forwarder app: prints the secret URL to type into it
    (shown once; anyone with it can post messages as this device).  An installation
    forwarder needs --wallet: its messages are only for brands showing those numbers."""
    from ownpay.db import utcnow
    from ownpay.sms import devices

    _whose(merchant, installation)
    if not name.strip() or len(name) > 100 or not name.isprintable():
        fail("--name is 1 to 100 printable characters")
    wallets = devices.wallet_list(wallet) if wallet is not None else []
    if wallets is None:
        fail(f"--wallet is up to {devices.MAX_WALLETS} mobile numbers (01…), comma-separated")
    if installation and not wallets:
        fail("an installation forwarder needs --wallet: the numbers decide which brands' "
             "payments its messages can verify")

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            scope = await _scope(s, merchant, mode)
            device, path = await devices.add_forwarder(s, scope, name=name.strip(),
                                                       now=utcnow(), wallets=wallets)
            await audit.record(s, audit.cli_actor(), "device.added",
                               merchant_id=scope.merchant_id, mode=scope.mode,
                               object_type="sms_device", object_id=device.id)
        return {"device_id": device.id, "url": f"{ctx.settings.base_url.rstrip('/')}{path}"}

    shown = run_async(settings_from(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(
        f"device {shown['device_id']}: in the forwarder app, send to {shown['url']}"))


@devices_app.command("list")
def devices_list(merchant: MerchantOpt = None, installation: InstallationOpt = False,
                 mode: ModeOpt = "live", as_json: JsonOpt = False,
                 database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """The brand's (or the installation's) devices: last heartbeat, battery, last sequence
    number, wallets, revocation."""
    from ownpay.sms import devices

    _whose(merchant, installation)

    async def go(ctx: Any) -> list[dict[str, Any]]:
        async with ctx.sessions() as s:
            scope = await _scope(s, merchant, mode)
            return [devices.presented(d) for d in await devices.listing(s, scope)]

    rows = run_async(settings_from(database_url, data_dir), go)
    out(rows, as_json, lambda: _lines(rows, "no devices", lambda r: (
        f"{r['id']}  {r['kind']:<9} {r['name']:<24} seen {r['last_seen_at'] or 'never'}"
        f"{'  REVOKED' if r['revoked_at'] else ''}")))


@devices_app.command("revoke")
def devices_revoke(device_id: Annotated[str, typer.Argument(help="dev_…")],
                   merchant: MerchantOpt = None, installation: InstallationOpt = False,
                   mode: ModeOpt = "live", as_json: JsonOpt = False,
                   database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Its tokens (or forwarding URL) stop working at once; its messages stay."""
    from ownpay.db import utcnow
    from ownpay.sms import devices

    _whose(merchant, installation)

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            scope, device = await _device(s, merchant, mode, device_id)
            revoked = await devices.revoke(s, device, reason="revoked by operator",
                                           now=utcnow())
            if revoked:
                await audit.record(s, audit.cli_actor(), "device.revoked",
                                   merchant_id=scope.merchant_id, mode=scope.mode,
                                   object_type="sms_device", object_id=device.id)
        return {"device_id": device_id, "revoked": True, "already": not revoked}

    shown = run_async(settings_from(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(
        f"{device_id} {'was already revoked' if shown['already'] else 'revoked'}"))


@devices_app.command("set-wallets")
def devices_set_wallets(device_id: Annotated[str, typer.Argument(help="dev_…")],
                        wallet: Annotated[str, typer.Option(
                            help="The wallet number(s) whose SMS it receives, "
                            "comma-separated; an empty string clears them.")],
                        merchant: MerchantOpt = None, installation: InstallationOpt = False,
                        mode: ModeOpt = "live", as_json: JsonOpt = False,
                        database_url: DbOpt = None, data_dir: DataOpt = None) -> None:
    """Say which wallet numbers a device receives SMS for (a phone app that reports them in
    its heartbeat overwrites this).  Matching then only considers payments to those numbers;
    an installation device's messages are for the brands whose gateways show them."""
    from ownpay.sms import devices

    _whose(merchant, installation)
    wallets = devices.wallet_list(wallet) if wallet.strip() else []
    if wallets is None:
        fail(f"--wallet is up to {devices.MAX_WALLETS} mobile numbers (01…), comma-separated")

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            scope, device = await _device(s, merchant, mode, device_id)
            if device.revoked_at is not None:
                fail(f"{device_id} is revoked")
            await devices.set_wallets(s, device, wallets or [])
            await audit.record(s, audit.cli_actor(), "device.wallets",
                               merchant_id=scope.merchant_id, mode=scope.mode,
                               object_type="sms_device", object_id=device_id,
                               details={"wallets": wallets or []})
            return {"device_id": device_id, "wallets": wallets or []}

    shown = run_async(settings_from(database_url, data_dir), go)
    out(shown, as_json, lambda: typer.echo(
        f"{device_id}: wallets {', '.join(shown['wallets']) or 'not known'}"))
