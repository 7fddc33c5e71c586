"""API keys of the brand and mode shown: the list, a new key (shown once), revoking one.
Creating and revoking need a recent re-authentication (step-up)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response

from ownpay import audit
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.scoped import brand_of, errors_of, scope_of
from ownpay.dashboard.web import Gone, Viewer, ctx_of, render, require, see_other
from ownpay.errors import ApiError
from ownpay.merchants import service
from ownpay.merchants.models import ApiKey
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Developer = Annotated[Viewer, Depends(require(Permission.DEVELOPER))]
Confirmed = Annotated[Viewer, Depends(require(Permission.DEVELOPER, step_up=True))]
SCOPE_HELP = {"read": "read payments, refunds and the ledger",
              "write": "create payment intents and refunds",
              "admin": "manage webhook endpoints and fee rules"}


@router.get("/admin/api-keys")
async def keys_list(request: Request, session: Session, viewer: Developer,
                    revoked: str | None = None) -> Response:
    scope = scope_of(viewer)
    keys = [k for k in await service.list_api_keys(session, merchant=brand_of(viewer))
            if k.mode == scope.mode]
    keys.sort(key=lambda k: (k.revoked_at is not None, -k.id))
    return render(request, "api_keys.html", {
        "keys": keys, "notice": "The key is revoked." if revoked else None},
        viewer=viewer)


def _new(request: Request, viewer: Viewer, *, values: dict[str, str],
         errors: dict[str, list[str]] | None = None, status_code: int = 200) -> Response:
    return render(request, "api_key_new.html", {
        "scopes": [(s, SCOPE_HELP[s]) for s in service.SCOPES], "values": values,
        "errors": errors or {}}, viewer=viewer, status_code=status_code)


@router.get("/admin/api-keys/new")
async def key_new(request: Request, viewer: Confirmed) -> Response:
    scope_of(viewer)
    return _new(request, viewer, values={f"scope_{s}": "on" for s in service.SCOPES})


@router.post("/admin/api-keys/new")
async def key_create(request: Request, session: Session, viewer: Confirmed) -> Response:
    brand, scope = brand_of(viewer), scope_of(viewer)
    form = viewer.form
    values = {k: form.get(k, "") for k in ("name", *(f"scope_{s}" for s in service.SCOPES))}
    name = values["name"].strip() or None
    scopes = tuple(s for s in service.SCOPES if form.get(f"scope_{s}") == "on")
    errors: dict[str, list[str]] = {}
    if not scopes:
        errors["scopes"] = ["Choose at least one scope."]
    if name and len(name) > 100:
        errors["name"] = ["The name must be at most 100 characters."]
    if errors:
        return _new(request, viewer, values=values, errors=errors, status_code=400)
    try:
        made = await service.create_api_key(session, merchant=brand, mode=scope.mode,
                                            scopes=scopes, name=name)
    except ApiError as exc:
        return _new(request, viewer, values=values, errors=errors_of(exc), status_code=400)
    row = await session.get(ApiKey, made.id)
    assert row is not None
    await audit.record(session, viewer.actor, "api_key.created", merchant_id=brand.id,
                       mode=scope.mode, object_type="api_key", object_id=made.id,
                       details={"prefix": row.prefix, "scopes": list(scopes), "name": name})
    return render(request, "api_key_created.html", {
        "key": made.api_key, "row": row}, viewer=viewer)


async def _key(session: Session, viewer: Viewer, key_id: int) -> ApiKey:
    scope = scope_of(viewer)
    key = await session.scalar(select(ApiKey).where(
        ApiKey.id == key_id, ApiKey.merchant_id == scope.merchant_id,
        ApiKey.mode == scope.mode))
    if key is None:
        raise Gone()
    return key


@router.get("/admin/api-keys/{key_id}/revoke")
async def key_revoke_confirm(request: Request, session: Session, viewer: Developer,
                             key_id: int) -> Response:
    key = await _key(session, viewer, key_id)
    return render(request, "api_key_revoke.html", {"key": key}, viewer=viewer)


@router.post("/admin/api-keys/{key_id}/revoke")
async def key_revoke(request: Request, session: Session, viewer: Confirmed,
                     key_id: int) -> Response:
    key = await _key(session, viewer, key_id)
    if key.revoked_at is None:
        await service.revoke_api_key(session, key_id=key.id, merchant_id=key.merchant_id)
        ctx_of(request).api_keys.invalidate(key.key_hash)  # this process: at once
        await audit.record(session, viewer.actor, "api_key.revoked",
                           merchant_id=key.merchant_id, mode=key.mode, object_type="api_key",
                           object_id=key.id, details={"prefix": key.prefix})
    return see_other("/admin/api-keys?revoked=1")
