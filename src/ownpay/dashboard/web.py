"""What every dashboard route stands on: who is signed in (:func:`require`, which also
checks the role, the CSRF token of every POST and, for sensitive actions, a recent
re-authentication), which brand and mode they look at, and how a page is rendered.

Every route declares its permission through ``require`` -- the role-matrix test walks the
route table and finds it on each one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

from ownpay.audit import Actor
from ownpay.context import AppContext
from ownpay.dashboard import sessions
from ownpay.dashboard.models import InstallationSetting, User, UserSession
from ownpay.dashboard.roles import ROLE_NAMES, Permission, allowed, is_installation_role
from ownpay.merchants.models import Merchant
from ownpay.web.client import client_ip, forwarded_proto
from ownpay.web.deps import Session
from ownpay.web.pages import Pages
from ownpay.web.pages.csrf import session_token, session_token_ok
from ownpay.web.pages.forms import is_multipart, read_form, read_upload_form
from ownpay.web.pages.security import Csp

REQUIRE_2FA = "require_2fa"


class Redirect(Exception):  # noqa: N818 - control flow, handled by the app
    def __init__(self, url: str) -> None:
        self.url = url


class Denied(Exception):  # noqa: N818
    """403: signed in, but the role does not allow it."""


class Gone(Exception):  # noqa: N818
    """404: no such object for this user (including another brand's)."""


class BadRequest(Exception):  # noqa: N818
    """400: an expired form (CSRF token), an oversized or malformed body."""

    def __init__(self, message: str) -> None:
        self.message = message


def ctx_of(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def https(request: Request) -> bool:
    return forwarded_proto(request.scope, ctx_of(request).settings.trusted_proxies) == "https"


def request_actor(request: Request, user: User | None = None) -> Actor:
    return Actor(
        type="user", name=user.email if user else "anonymous",
        role=user.role if user else None,
        ip=client_ip(request.scope, ctx_of(request).settings.trusted_proxies),
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None))


@dataclass
class Viewer:
    """The signed-in user on this request, the brand and mode shown, and the posted form."""

    user: User
    row: UserSession
    merchant: Merchant | None
    brands: list[Merchant]
    csrf_token: str
    actor: Actor
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # a multipart form's uploads

    @property
    def mode(self) -> str:
        return self.row.mode

    def can(self, permission: Permission) -> bool:
        return allowed(self.user.role, permission)

    def nav(self) -> dict[str, Any]:
        return {
            "email": self.user.email, "role": ROLE_NAMES[self.user.role],
            "brand": self.merchant, "brands": self.brands, "mode": self.mode,
            "can": {p.value: self.can(p) for p in Permission},
            "installation": is_installation_role(self.user.role),
        }


async def visible_brands(session: AsyncSession, user: User) -> list[Merchant]:
    query = select(Merchant).order_by(Merchant.name, Merchant.id)
    if not is_installation_role(user.role):
        query = query.where(Merchant.id == user.merchant_id)
    return list(await session.scalars(query))


async def setting(session: AsyncSession, name: str, default: Any = None) -> Any:
    row = await session.get(InstallationSetting, name)
    return default if row is None else row.value


def _has_page(request: Request, path: str) -> bool:
    """Whether a GET of ``path`` is a route of this app."""
    probe = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    return any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes)


def here(request: Request) -> str:
    """This page.  A POST's page is its path when that path is also a page (the user
    submits the form again); an action's path without one (``/admin/users/5/disable``,
    ``/admin/account/password``) answers a GET with 405, so it is the nearest parent that
    is a page (``/admin/users``, ``/admin/account``)."""
    path = request.url.path
    if request.method != "GET":
        while path.count("/") > 1 and not _has_page(request, path):
            path = path.rsplit("/", 1)[0]
        return path
    return f"{path}?{request.url.query}" if request.url.query else path


def sign_in_url(request: Request) -> str:
    return "/admin/sign-in?next=" + quote(here(request), safe="")


Dependency = Callable[..., Awaitable[Viewer]]


def require(permission: Permission, *, step_up: bool = False,
            before_2fa: bool = False, uploads: bool = False) -> Dependency:
    """The dependency of a dashboard route: a live, fully signed-in session whose role has
    ``permission``.  POSTs must carry the session's CSRF token.  ``step_up``: the user must
    have given their password (or a TOTP code) within ``session_reauth_window``.
    ``before_2fa``: also reachable while a required 2FA enrolment is pending.
    ``uploads``: a POST may be ``multipart/form-data`` (files in ``Viewer.files``)."""
    async def dependency(request: Request, session: Session) -> Viewer:
        ctx = ctx_of(request)
        found = await sessions.lookup(session, ctx.settings, request.cookies.get(sessions.COOKIE))
        if found is None:
            raise Redirect(sign_in_url(request))
        row, user = found
        if user.totp_enabled_at is not None and row.verified_at is None:
            raise Redirect("/admin/sign-in/2fa")
        if (not before_2fa and user.totp_enabled_at is None
                and await setting(session, REQUIRE_2FA, False)):
            raise Redirect("/admin/account/2fa")
        form: dict[str, str] = {}
        files: dict[str, bytes] = {}
        if request.method == "POST":
            if uploads and is_multipart(request):
                parts = await read_upload_form(request)
                got = None if parts is None else parts[0]
                files = {} if parts is None else parts[1]
            else:
                got = await read_form(request)
            if got is None:
                raise BadRequest("The form is too large.")
            form = got
            if not session_token_ok(ctx.keyring, row.id, form.get("csrf_token")):
                raise BadRequest("This form has expired. Go back, reload the page and try "
                                 "again.")
        if not allowed(user.role, permission):
            raise Denied()
        if step_up and not sessions.recently_reauthenticated(row, ctx.settings):
            raise Redirect("/admin/confirm?next=" + quote(here(request), safe=""))
        brands = await visible_brands(session, user)
        merchant = next((b for b in brands if b.id == row.merchant_id), None)
        if merchant is None and brands:
            merchant = brands[0]
            row.merchant_id = merchant.id
        return Viewer(user=user, row=row, merchant=merchant, brands=brands,
                      csrf_token=session_token(ctx.keyring, row.id),
                      actor=request_actor(request, user), form=form, files=files)

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.step_up = step_up  # type: ignore[attr-defined]
    return dependency


def render(request: Request, template: str, context: dict[str, Any], *,
           viewer: Viewer | None = None, status_code: int = 200,
           after: Callable[[Response], None] | None = None) -> Response:
    base: dict[str, Any] = {"nav": viewer.nav() if viewer else None,
                            "csrf_token": viewer.csrf_token if viewer else None,
                            "path": request.url.path}
    return pages_of(request).render(request, template, {**base, **context}, csp=Csp(),
                                    status_code=status_code, https=https(request),
                                    after=after)


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path inside the dashboard (no scheme, no host, no ``//``): no open redirect."""
    if (value and value.startswith("/admin") and not value.startswith("//")
            and "\\" not in value and all(c.isprintable() and c != " " for c in value)):
        return value
    return "/admin/"
