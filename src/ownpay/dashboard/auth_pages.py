"""Signing in and out: password, the second factor, step-up re-authentication.

An unknown e-mail, a disabled account and a wrong password get the same answer after the
same work (one Argon2 verification).  Failed attempts count against the client's IP
(``rate_limit_signin_ip``) and the e-mail address (``rate_limit_signin_account``); past
either limit the form answers 429 with the time to wait, before any password is checked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ownpay.audit import record
from ownpay.dashboard import passwords, sessions, twofactor, users
from ownpay.dashboard.models import User, UserSession
from ownpay.dashboard.roles import Permission
from ownpay.dashboard.web import (
    BadRequest,
    Viewer,
    ctx_of,
    https,
    render,
    request_actor,
    require,
    safe_next,
    see_other,
)
from ownpay.db import utcnow
from ownpay.web.client import client_ip
from ownpay.web.deps import Session
from ownpay.web.pages.csrf import TransactionCsrf, transaction_token_ok
from ownpay.web.pages.forms import read_form

router = APIRouter(include_in_schema=False)
WRONG = "The e-mail address or the password is not right."
SIGN_IN_FORM = "dashboard:sign-in"


def _csrf(request: Request) -> TransactionCsrf:
    return TransactionCsrf(ctx_of(request).keyring, request, SIGN_IN_FORM, https=https(request))


def _sign_in_page(request: Request, *, error: str | None = None, email: str = "",
                  status_code: int = 200, next_url: str = "/admin/",
                  retry_after: int | None = None) -> Response:
    csrf = _csrf(request)
    response = render(request, "sign_in.html", {
        "error": error, "email": email, "next": next_url, "form_token": csrf.token},
        status_code=status_code, after=csrf.set_cookie)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/admin/sign-in")
async def sign_in_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    return _sign_in_page(request, next_url=safe_next(next))


async def _posted(request: Request, token_for: str) -> dict[str, str]:
    form = await read_form(request)
    if form is None:
        raise BadRequest("The form is too large.")
    if not transaction_token_ok(ctx_of(request).keyring, request, token_for,
                                form.get("csrf_token")):
        raise BadRequest("This form has expired. Go back, reload the page and try again.")
    return form


@router.post("/admin/sign-in")
async def sign_in(request: Request, session: Session) -> Response:
    form = await _posted(request, SIGN_IN_FORM)
    ctx = ctx_of(request)
    email = users.normalise_email(form.get("email", ""))[:254]
    password = form.get("password", "")
    next_url = safe_next(form.get("next"))
    ip = client_ip(request.scope, ctx.settings.trusted_proxies)
    limiter = ctx.rate_limiter
    for rule, key in (("signin_ip", ip), ("signin_account", email)):
        refused = await limiter.exceeded(rule, key)
        if refused is not None:
            minutes = max(1, -(-refused.reset_after // 60))
            return _sign_in_page(
                request, email=email, next_url=next_url, status_code=429,
                retry_after=refused.reset_after,
                error=f"Too many sign-in attempts. Try again in {minutes} minute"
                      f"{'s' if minutes != 1 else ''}.")
    user = await users.find(session, email) if email else None
    good = passwords.verify(user.password_hash if user else None, password)
    if not good or user is None or user.disabled_at is not None:
        await limiter.hit("signin_ip", ip)
        await limiter.hit("signin_account", email)
        await record(session, request_actor(request), "user.sign_in_failed",
                     object_type="user", object_id=user.id if user else None,
                     details={"email": email})
        return _sign_in_page(request, error=WRONG, email=email, status_code=400,
                             next_url=next_url)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    two_factor = user.totp_enabled_at is not None
    started = await sessions.start(session, ctx.settings, user, ip=ip,
                                   user_agent=request.headers.get("user-agent", ""),
                                   verified=not two_factor)
    await record(session, request_actor(request, user), "user.signed_in",
                 merchant_id=user.merchant_id, object_type="user", object_id=user.id,
                 details={"second_factor_pending": two_factor})
    response = see_other(f"/admin/sign-in/2fa?next={next_url}" if two_factor else next_url)
    response.set_cookie(sessions.COOKIE, started.token, httponly=True, samesite="lax",
                        secure=https(request), path=sessions.COOKIE_PATH,
                        max_age=ctx.settings.session_lifetime)
    return response


async def _pending(request: Request, session: Session) -> tuple[UserSession, User] | None:
    token = request.cookies.get(sessions.COOKIE)
    found = await sessions.lookup(session, ctx_of(request).settings, token)
    if found is None or found[1].totp_enabled_at is None or found[0].verified_at is not None:
        return None
    return found


@router.get("/admin/sign-in/2fa")
async def second_factor_form(request: Request, session: Session,
                             next: str | None = None) -> Response:  # noqa: A002
    if await _pending(request, session) is None:
        return see_other("/admin/sign-in")
    csrf = _csrf(request)
    return render(request, "two_factor.html", {"next": safe_next(next), "form_token": csrf.token},
                  after=csrf.set_cookie)


@router.post("/admin/sign-in/2fa")
async def second_factor(request: Request, session: Session) -> Response:
    form = await _posted(request, SIGN_IN_FORM)
    found = await _pending(request, session)
    if found is None:
        return see_other("/admin/sign-in")
    row, user = found
    ctx = ctx_of(request)
    account_key = f"2fa:{user.id}"
    refused = await ctx.rate_limiter.exceeded("signin_account", account_key)
    next_url = safe_next(form.get("next"))
    csrf = _csrf(request)
    if refused is not None:
        return render(request, "two_factor.html", {
            "next": next_url, "form_token": csrf.token,
            "error": "Too many wrong codes. Sign in again later."}, status_code=429)
    if not twofactor.check(user, ctx.keyring, form.get("code", "")):
        await ctx.rate_limiter.hit("signin_account", account_key)
        await record(session, request_actor(request, user), "user.2fa_failed",
                     object_type="user", object_id=user.id)
        return render(request, "two_factor.html", {
            "next": next_url, "form_token": csrf.token,
            "error": "That code is not right (or was already used). Try the current code."},
            status_code=400)
    row.verified_at = row.reauthenticated_at = utcnow()
    await record(session, request_actor(request, user), "user.2fa_passed",
                 object_type="user", object_id=user.id)
    return see_other(next_url)


@router.post("/admin/sign-out")
async def sign_out(request: Request, session: Session,
                   viewer: Annotated[Viewer, Depends(require(Permission.ACCOUNT,
                                                             before_2fa=True))]) -> Response:
    viewer.row.revoked_at = utcnow()
    await record(session, viewer.actor, "user.signed_out", object_type="user",
                 object_id=viewer.user.id)
    response = see_other("/admin/sign-in")
    response.delete_cookie(sessions.COOKIE, path=sessions.COOKIE_PATH)
    return response


@router.get("/admin/confirm")
async def confirm_form(request: Request, viewer: Annotated[Viewer, Depends(
        require(Permission.ACCOUNT))], next: str | None = None) -> Response:  # noqa: A002
    return render(request, "confirm.html", {"next": safe_next(next),
                                            "totp": viewer.user.totp_enabled_at is not None},
                  viewer=viewer)


@router.post("/admin/confirm")
async def confirm(request: Request, session: Session, viewer: Annotated[Viewer, Depends(
        require(Permission.ACCOUNT))]) -> Response:
    """Step-up: the password, or a current TOTP code, within the last few minutes."""
    ctx = ctx_of(request)
    user, form = viewer.user, viewer.form
    next_url = safe_next(form.get("next"))
    account_key = f"confirm:{user.id}"
    if await ctx.rate_limiter.exceeded("signin_account", account_key) is not None:
        return render(request, "confirm.html", {
            "next": next_url, "totp": user.totp_enabled_at is not None,
            "error": "Too many attempts. Try again later."}, viewer=viewer, status_code=429)
    secret = form.get("password", "")
    is_code = len(secret.strip()) == 6 and secret.strip().isdigit()
    ok = (twofactor.check(user, ctx.keyring, secret) if is_code and user.totp_enabled_at
          else passwords.verify(user.password_hash, secret))
    if not ok:
        await ctx.rate_limiter.hit("signin_account", account_key)
        return render(request, "confirm.html", {
            "next": next_url, "totp": user.totp_enabled_at is not None,
            "error": "That is not right."}, viewer=viewer, status_code=400)
    viewer.row.reauthenticated_at = utcnow()
    await record(session, viewer.actor, "user.reauthenticated", object_type="user",
                 object_id=user.id)
    return see_other(next_url)
