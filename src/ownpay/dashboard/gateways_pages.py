"""Gateways of the brand and mode shown: which are on, their configuration form (built
from the adapter's declared ``credential_fields`` and ``setting_fields``, as ``ownpay
gateways enable --set`` reads them), "Test connection" where the adapter can check its
credentials (``Gateway.check_credentials``), and the provider webhook URL to paste into
the provider's dashboard.

Secret fields are write-only: the form shows "set", never the value, and an empty secret
keeps the stored one (``enable_gateway(keep_secrets=True)``).  Changing a configuration
needs a recent re-authentication (step-up)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response

from ownpay import audit
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import brand_of, errors_of, scope_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.errors import ApiError
from ownpay.gateways import registry
from ownpay.gateways.base import CredentialCheck, Gateway
from ownpay.merchants import service
from ownpay.merchants.accounts import context_for, find_active_gateway, public_base_url
from ownpay.merchants.models import GatewayAccount
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Manager = Annotated[Viewer, Depends(require(Permission.GATEWAYS))]
Confirmed = Annotated[Viewer, Depends(require(Permission.GATEWAYS, step_up=True))]
PREFIX = "cfg_"  # adapter fields in the form: never clash with csrf_token, gateway, …


def _adapter(viewer: Viewer, slug: str | None) -> Gateway:
    adapter = registry.get(slug or "")
    if adapter is None or viewer.mode not in adapter.modes:
        raise Gone()
    return adapter


async def _accounts(session: Session, viewer: Viewer) -> dict[str, GatewayAccount]:
    scope = scope_of(viewer)
    rows = await session.scalars(select(GatewayAccount).where(
        GatewayAccount.merchant_id == scope.merchant_id, GatewayAccount.mode == scope.mode))
    return {a.gateway: a for a in rows}


def can_check(adapter: Gateway) -> bool:
    """Whether the adapter implements the optional ``check_credentials``."""
    return type(adapter).check_credentials is not Gateway.check_credentials


def webhook_url(request: Request, viewer: Viewer, adapter: Gateway) -> str | None:
    """Where the provider sends its webhooks for this brand and mode (None: it sends none)."""
    if not adapter.supports_webhooks:
        return None
    brand = brand_of(viewer)
    base = public_base_url(ctx_of(request), brand.public_root)
    return f"{base}/gateways/{adapter.slug}/webhooks/{brand.slug}/{viewer.mode}"


async def _list(request: Request, session: Session, viewer: Viewer, *,
                notice: str | None = None, check: tuple[str, CredentialCheck] | None = None,
                error: str | None = None, status_code: int = 200) -> Response:
    accounts = await _accounts(session, viewer)
    rows = []
    for slug, adapter in sorted(registry.all_gateways().items()):
        if viewer.mode not in adapter.modes:
            continue
        account = accounts.get(slug)
        rows.append({"slug": slug, "name": adapter.display_name, "account": account,
                     "webhook_url": webhook_url(request, viewer, adapter),
                     "checkable": can_check(adapter)})
    return render(request, "gateways.html", {
        "rows": rows, "notice": notice, "check": check, "error": error},
        viewer=viewer, status_code=status_code)


@router.get("/admin/gateways")
async def gateways_list(request: Request, session: Session, viewer: Manager,
                        saved: str | None = None) -> Response:
    return await _list(request, session, viewer,
                       notice="Saved: the gateway is on." if saved else None)


def _as_text(value: Any) -> str:
    if isinstance(value, list):  # the manual gateway's fields: back to "name:Label,…"
        return ",".join(f"{f.get('name', '')}:{f.get('label', '')}" for f in value
                        if isinstance(f, dict))
    return "" if value is None else str(value)


def _form(request: Request, viewer: Viewer, adapter: Gateway, account: GatewayAccount | None,
          shown: dict[str, Any], *, values: dict[str, str] | None = None,
          errors: dict[str, list[str]] | None = None, status_code: int = 200) -> Response:
    fields = []
    for f in (*adapter.credential_fields, *adapter.setting_fields):
        fields.append({
            "name": PREFIX + f.name, "key": f.name, "label": f.label, "help": f.help,
            "secret": f.secret, "required": f.required, "multiline": f.multiline,
            "is_set": bool(shown.get(f.name)) if f.secret else False,
            "value": "" if f.secret else (values or {}).get(
                PREFIX + f.name, _as_text(shown.get(f.name, f.default or "")))})
    own_name = not any(f.name == "display_name" for f in adapter.setting_fields)
    return render(request, "gateway_form.html", {
        "adapter": adapter, "account": account, "fields": fields, "own_name": own_name,
        "display_name": (values or {}).get("display_name",
                                          account.display_name if account else ""),
        "webhook_url": webhook_url(request, viewer, adapter), "errors": errors or {}},
        viewer=viewer, status_code=status_code)


@router.get("/admin/gateways/configure")
async def gateway_configure(request: Request, session: Session, viewer: Confirmed,
                            gateway: str | None = None) -> Response:
    if not gateway:  # e.g. back from "Confirm it is you" after a POST: choose again
        return await _list(request, session, viewer)
    adapter = _adapter(viewer, gateway)
    account = (await _accounts(session, viewer)).get(adapter.slug)
    shown = service.shown_config(ctx_of(request).keyring, account) if account else {}
    return _form(request, viewer, adapter, account, shown)


@router.post("/admin/gateways/configure")
async def gateway_save(request: Request, session: Session, viewer: Confirmed) -> Response:
    form = viewer.form
    adapter = _adapter(viewer, form.get("gateway"))
    keyring = ctx_of(request).keyring
    account = (await _accounts(session, viewer)).get(adapter.slug)
    shown = service.shown_config(keyring, account) if account else {}
    values = {f.name: form.get(PREFIX + f.name, "").strip() if not f.multiline
              else form.get(PREFIX + f.name, "")
              for f in (*adapter.credential_fields, *adapter.setting_fields)}
    given = {k: v for k, v in values.items() if v != ""}
    try:
        saved = await service.enable_gateway(
            session, keyring, merchant=brand_of(viewer), mode=viewer.mode,
            gateway=adapter.slug, values=given, keep_secrets=True,
            display_name=form.get("display_name", "").strip() or None)
    except ApiError as exc:
        errors = {(PREFIX + k if k in values else k): v for k, v in errors_of(exc).items()}
        return _form(request, viewer, adapter, account, shown, values=dict(form),
                     errors=errors, status_code=400)
    ctx_of(request).gateway_accounts.invalidate((saved.merchant_id, saved.mode, saved.gateway))
    secrets = [f.name for f in adapter.credential_fields if f.secret]
    await audit.record(session, viewer.actor, "gateway.configured",
                       merchant_id=saved.merchant_id, mode=saved.mode, object_type="gateway",
                       object_id=adapter.slug, details={
                           "display_name": saved.display_name,
                           "replaced_write_only": sorted(k for k in secrets if given.get(k)),
                           "fields": sorted(k for k in given if k not in secrets)})
    return see_other("/admin/gateways?saved=1")


@router.post("/admin/gateways/disable")
async def gateway_disable(request: Request, session: Session, viewer: Manager) -> Response:
    adapter = _adapter(viewer, viewer.form.get("gateway"))
    account = (await _accounts(session, viewer)).get(adapter.slug)
    if account is None:
        raise Gone()
    if account.active:
        await service.disable_gateway(session, merchant=brand_of(viewer), mode=viewer.mode,
                                      gateway=adapter.slug)
        ctx_of(request).gateway_accounts.invalidate(
            (account.merchant_id, account.mode, account.gateway))
        await audit.record(session, viewer.actor, "gateway.disabled",
                           merchant_id=account.merchant_id, mode=account.mode,
                           object_type="gateway", object_id=adapter.slug)
    return await _list(request, session, viewer,
                       notice=f"{adapter.display_name} is off: new payments cannot use it.")


@router.post("/admin/gateways/test")
async def gateway_test(request: Request, session: Session, viewer: Manager) -> Response:
    """Ask the adapter to check the stored credentials (nothing is changed or recorded)."""
    adapter = _adapter(viewer, viewer.form.get("gateway"))
    found = await find_active_gateway(session, scope_of(viewer), adapter.slug)
    if found is None:
        return await _list(request, session, viewer, status_code=400,
                           error=f"Turn {adapter.display_name} on before testing it.")
    try:
        result = await adapter.check_credentials(context_for(ctx_of(request), found))
    except Exception:  # noqa: BLE001 - an adapter's bug must not become a 500 here
        result = CredentialCheck(supported=True, ok=False,
                                 message="The check failed unexpectedly; see the server log.")
    return await _list(request, session, viewer, check=(adapter.display_name, result))
