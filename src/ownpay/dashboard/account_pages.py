"""My account: password, two-factor authentication, and my sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay.audit import record
from ownpay.dashboard import sessions, twofactor, users
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.web import Viewer, ctx_of, render, require, see_other
from ownpay.errors import ValidationFailed
from ownpay.web.deps import Session

router = APIRouter(include_in_schema=False)
Me = Annotated[Viewer, Depends(require(Permission.ACCOUNT, before_2fa=True))]
MeConfirmed = Annotated[Viewer, Depends(require(Permission.ACCOUNT, step_up=True,
                                                before_2fa=True))]


async def _account(request: Request, session: Session, viewer: Viewer, *,
                   notice: str | None = None, errors: dict[str, list[str]] | None = None,
                   status_code: int = 200) -> Response:
    mine = await sessions.for_user(session, ctx_of(request).settings, viewer.user.id)
    return render(request, "account.html", {
        "sessions": [{"current": s.id == viewer.row.id, "row": s} for s in mine],
        "two_factor": viewer.user.totp_enabled_at is not None,
        "recovery_left": len(viewer.user.recovery_codes or []),
        "notice": notice, "errors": errors or {}}, viewer=viewer, status_code=status_code)


@router.get("/admin/account")
async def account(request: Request, session: Session, viewer: Me) -> Response:
    return await _account(request, session, viewer)


@router.post("/admin/account/password")
async def change_password(request: Request, session: Session, viewer: MeConfirmed) -> Response:
    new, again = viewer.form.get("new_password", ""), viewer.form.get("confirm_password", "")
    if new != again:
        return await _account(request, session, viewer, status_code=400, errors={
            "new_password": ["The two passwords are not the same."]})
    try:
        await users.set_password(session, viewer.actor, viewer.user, new,
                                 keep_session=viewer.row.id)
    except ValidationFailed as exc:
        return await _account(request, session, viewer, status_code=400,
                              errors={"new_password": (exc.errors or {}).get("password", [])})
    return await _account(request, session, viewer,
                          notice="Password changed. Your other sessions were signed out.")


@router.post("/admin/account/sessions/revoke")
async def revoke_other_sessions(request: Request, session: Session, viewer: Me) -> Response:
    ended = await users.revoke_sessions(session, viewer.user.id, except_id=viewer.row.id)
    await record(session, viewer.actor, "user.sessions_revoked", object_type="user",
                 object_id=viewer.user.id, details={"sessions": ended})
    return await _account(request, session, viewer,
                          notice=f"Signed out of {ended} other session{'s' if ended != 1 else ''}.")


def _seal_context(viewer: Viewer) -> bytes:
    return f"2fa:{viewer.row.id}".encode()


def _pending_blob(request: Request, viewer: Viewer, secret: str) -> str:
    """The secret being enrolled, sealed to this session for the confirming POST."""
    keyring = ctx_of(request).keyring
    return keyring.encrypt(secret.encode(), context=_seal_context(viewer)).hex()


def _unseal(request: Request, viewer: Viewer, blob: str) -> str | None:
    try:
        raw = bytes.fromhex(blob)
        return ctx_of(request).keyring.decrypt(raw, context=_seal_context(viewer)).decode()
    except ValueError:
        return None


def _enrol_page(request: Request, viewer: Viewer, secret: str, *, error: str | None = None,
                status_code: int = 200) -> Response:
    uri = twofactor.provisioning_uri(secret, viewer.user.email)
    return render(request, "two_factor_enrol.html", {
        "qr": twofactor.qr_svg(uri), "secret": secret,
        "sealed": _pending_blob(request, viewer, secret), "error": error},
        viewer=viewer, status_code=status_code)


@router.get("/admin/account/2fa")
async def enrol_form(request: Request, session: Session, viewer: Me) -> Response:
    if viewer.user.totp_enabled_at is not None:
        return await _account(request, session, viewer,
                              notice="Two-factor authentication is already on.")
    return _enrol_page(request, viewer, twofactor.new_secret())


@router.post("/admin/account/2fa")
async def enrol(request: Request, session: Session, viewer: Me) -> Response:
    secret = _unseal(request, viewer, viewer.form.get("sealed", ""))
    if secret is None or viewer.user.totp_enabled_at is not None:
        return see_other("/admin/account/2fa")
    step = twofactor.matching_step(secret, viewer.form.get("code", ""), after=None)
    if step is None:
        return _enrol_page(request, viewer, secret, status_code=400,
                           error="That code is not right. Enter the 6 digits your app shows now.")
    codes = twofactor.enable(viewer.user, ctx_of(request).keyring, secret)
    viewer.user.totp_last_step = step
    await record(session, viewer.actor, "user.2fa_enabled", object_type="user",
                 object_id=viewer.user.id)
    return render(request, "recovery_codes.html", {"codes": codes}, viewer=viewer)


@router.post("/admin/account/2fa/recovery-codes")
async def new_recovery_codes(request: Request, session: Session,
                             viewer: MeConfirmed) -> Response:
    if viewer.user.totp_enabled_at is None:
        return see_other("/admin/account/2fa")
    codes = twofactor.new_recovery_codes(viewer.user, ctx_of(request).keyring)
    await record(session, viewer.actor, "user.recovery_codes_replaced", object_type="user",
                 object_id=viewer.user.id)
    return render(request, "recovery_codes.html", {"codes": codes}, viewer=viewer)


@router.post("/admin/account/2fa/disable")
async def disable_two_factor(request: Request, session: Session, viewer: MeConfirmed) -> Response:
    await users.reset_two_factor(session, viewer.actor, viewer.user, keep_session=viewer.row.id)
    return await _account(request, session, viewer,
                          notice="Two-factor authentication is off.")
