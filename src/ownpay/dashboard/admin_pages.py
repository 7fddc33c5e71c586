"""Users and roles, installation settings, and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from starlette.responses import Response

from ownpay import audit
from ownpay.audit.models import AuditEntry
from ownpay.dashboard import users
from ownpay.dashboard.models import InstallationSetting, User
from ownpay.dashboard.roles import (
    BRAND_ROLES,
    ROLE_NAMES,
    ROLES,
    Permission,
    is_installation_role,
    may_grant,
)
from ownpay.dashboard.web import REQUIRE_2FA, Denied, Gone, Viewer, render, require, setting
from ownpay.db import utcnow
from ownpay.errors import ValidationFailed
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
UsersAdmin = Annotated[Viewer, Depends(require(Permission.USERS))]
UsersConfirmed = Annotated[Viewer, Depends(require(Permission.USERS, step_up=True))]
Auditor = Annotated[Viewer, Depends(require(Permission.AUDIT))]
ChainVerifier = Annotated[Viewer, Depends(require(Permission.AUDIT_VERIFY))]
Owner = Annotated[Viewer, Depends(require(Permission.SETTINGS, step_up=True))]
AUDIT_PAGE = 50


def _scope_id(viewer: Viewer) -> int | None:
    """None: the user sees every brand's users and audit rows."""
    return None if is_installation_role(viewer.user.role) else viewer.user.merchant_id


def _grantable(viewer: Viewer) -> list[tuple[str, str]]:
    return [(r, ROLE_NAMES[r]) for r in ROLES if may_grant(viewer.user.role, r)]


async def _users_page(request: Request, session: Session, viewer: Viewer, *,
                      created: dict[str, Any] | None = None, notice: str | None = None,
                      errors: dict[str, list[str]] | None = None,
                      values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    rows = await users.list_users(session, merchant_id=_scope_id(viewer))
    names = {b.id: b.name for b in viewer.brands}
    return render(request, "users.html", {
        "users": [{"row": u, "role": ROLE_NAMES[u.role], "brand": names.get(u.merchant_id or 0),
                   "manageable": u.id != viewer.user.id and may_grant(viewer.user.role, u.role)}
                  for u in rows],
        "roles": _grantable(viewer), "brand_roles": BRAND_ROLES, "created": created,
        "notice": notice, "errors": errors or {}, "values": values or {}},
        viewer=viewer, status_code=status_code)


@router.get("/admin/users")
async def users_list(request: Request, session: Session, viewer: UsersAdmin) -> Response:
    return await _users_page(request, session, viewer)


@router.post("/admin/users")
async def users_create(request: Request, session: Session, viewer: UsersConfirmed) -> Response:
    form = viewer.form
    role = form.get("role", "")
    slug = form.get("merchant") or None
    if not is_installation_role(viewer.user.role):
        own = next((b for b in viewer.brands if b.id == viewer.user.merchant_id), None)
        slug = own.slug if own else None
    values = {"email": form.get("email", ""), "role": role, "merchant": slug or ""}
    if not may_grant(viewer.user.role, role):
        return await _users_page(request, session, viewer, status_code=400, values=values,
                                 errors={"role": ["You cannot give this role."]})
    try:
        made = await users.create_user(session, viewer.actor, email=form.get("email", ""),
                                       role=role, merchant_slug=slug if role in BRAND_ROLES
                                       else None)
    except ValidationFailed as exc:
        return await _users_page(request, session, viewer, status_code=400,
                                 errors=exc.errors or {}, values=values)
    return await _users_page(request, session, viewer, created={
        "email": made.user.email, "password": made.password, "role": ROLE_NAMES[role]})


async def _managed(session: Session, viewer: Viewer, user_id: int) -> User:
    user = await session.get(User, user_id)
    scope = _scope_id(viewer)
    if user is None or (scope is not None and user.merchant_id != scope):
        raise Gone()
    if user.id == viewer.user.id or not may_grant(viewer.user.role, user.role):
        raise Denied()
    return user


@router.post("/admin/users/{user_id}/disable")
async def users_disable(request: Request, session: Session, viewer: UsersConfirmed,
                        user_id: int) -> Response:
    user = await _managed(session, viewer, user_id)
    try:
        await users.disable(session, viewer.actor, user)
    except ValidationFailed as exc:
        return await _users_page(request, session, viewer, status_code=400,
                                 errors=exc.errors or {})
    return await _users_page(request, session, viewer, notice=f"{user.email} is disabled.")


@router.post("/admin/users/{user_id}/enable")
async def users_enable(request: Request, session: Session, viewer: UsersConfirmed,
                       user_id: int) -> Response:
    user = await _managed(session, viewer, user_id)
    await users.enable(session, viewer.actor, user)
    return await _users_page(request, session, viewer, notice=f"{user.email} can sign in again.")


@router.post("/admin/users/{user_id}/reset-2fa")
async def users_reset_two_factor(request: Request, session: Session, viewer: UsersConfirmed,
                                 user_id: int) -> Response:
    user = await _managed(session, viewer, user_id)
    await users.reset_two_factor(session, viewer.actor, user)
    return await _users_page(request, session, viewer,
                             notice=f"Two-factor authentication of {user.email} is reset.")


@router.post("/admin/users/{user_id}/reset-password")
async def users_reset_password(request: Request, session: Session, viewer: UsersConfirmed,
                               user_id: int) -> Response:
    user = await _managed(session, viewer, user_id)
    password = await users.set_password(session, viewer.actor, user, None)
    return await _users_page(request, session, viewer, created={
        "email": user.email, "password": password, "role": ROLE_NAMES[user.role]})


@router.get("/admin/audit")
async def audit_log(request: Request, session: Session, viewer: Auditor,
                    before: int | None = None) -> Response:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE + 1)
    scope = _scope_id(viewer)
    if scope is not None:
        query = query.where(AuditEntry.merchant_id == scope)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = list(await session.scalars(query))
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    names = {b.id: b.name for b in viewer.brands}
    return render(request, "audit.html", {
        "rows": [{"row": r, "brand": names.get(r.merchant_id or 0)} for r in rows],
        "next_url": f"/admin/audit?before={rows[-1].id}" if more else None,
        "first_url": "/admin/audit" if before is not None else None,
        "verdict": None, "whole": scope is None}, viewer=viewer)


@router.post("/admin/audit/verify")
async def audit_verify(request: Request, session: Session, viewer: ChainVerifier) -> Response:
    verdict = await audit.verify(session)
    total = await session.scalar(select(func.count()).select_from(AuditEntry))
    return render(request, "audit.html", {"rows": [], "verdict": verdict, "total": total,
                                          "whole": True, "next_url": None,
                                          "first_url": "/admin/audit"}, viewer=viewer)


@router.get("/admin/settings")
async def settings_page(request: Request, session: Session, viewer: Owner) -> Response:
    return render(request, "settings.html", {
        "require_2fa": bool(await setting(session, REQUIRE_2FA, False))}, viewer=viewer)


@router.post("/admin/settings")
async def settings_save(request: Request, session: Session, viewer: Owner) -> Response:
    wanted = viewer.form.get("require_2fa") == "on"
    if wanted and viewer.user.totp_enabled_at is None:
        return render(request, "settings.html", {
            "require_2fa": False, "error": "Turn on two-factor authentication for your own "
            "account first (My account), so you are not locked out."},
            viewer=viewer, status_code=400)
    row = await session.get(InstallationSetting, REQUIRE_2FA)
    before = bool(row.value) if row else False
    if row is None:
        session.add(InstallationSetting(name=REQUIRE_2FA, value=wanted, updated_at=utcnow()))
    else:
        row.value, row.updated_at = wanted, utcnow()
    await audit.record(session, viewer.actor, "settings.changed", object_type="setting",
                       object_id=REQUIRE_2FA, details={REQUIRE_2FA: {
                           "before": before, "after": wanted}})
    return render(request, "settings.html", {"require_2fa": wanted, "notice": "Saved."},
                  viewer=viewer)
