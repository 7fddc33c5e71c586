"""FastAPI dependencies shared by every JSON route.

The request owns the transaction (STYLE.md habit 3): :func:`session_dep` opens one session
and one transaction per request, commits when the route returns and rolls back on any
exception; services and repositories only ``flush()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import audit
from ownpay.context import AppContext
from ownpay.merchants.auth import Principal, require_scope
from ownpay.web.client import client_ip


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def session_dep(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction: commit on success, roll back on any error."""
    async with app_context(request).sessions() as session, session.begin():
        yield session


async def read_session_dep(
    request: Request, primary: Annotated[AsyncSession, Depends(session_dep, scope="function")]
) -> AsyncIterator[AsyncSession]:
    """A session for list and export reads: on the read replica when one is configured
    (``OWNPAY_DATABASE_REPLICA_URL``), else the request's own session (one connection per
    request: SQLite has one).  Replicas lag, so nothing that decides money (or must read
    its own writes) uses this; it writes nothing."""
    ctx = app_context(request)
    if ctx.replica_engine is None:
        yield primary
        return
    async with ctx.reads() as session:
        yield session


@contextlib.asynccontextmanager
async def unit_of_work(ctx: AppContext) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, for work a route runs outside its request's session
    (``create_once``'s unit): commit on leaving, roll back on an exception."""
    async with ctx.sessions() as session, session.begin():
        yield session


def api_actor(request: Request, principal: Principal) -> audit.Actor:
    """The API key behind a request, as the audit log names it (``key:<id>``)."""
    return audit.Actor(
        type="api_key", name=f"key:{principal.api_key_id}",
        ip=client_ip(request.scope, app_context(request).settings.trusted_proxies),
        user_agent=request.headers.get("user-agent"),
        request_id=getattr(request.state, "request_id", None))


async def audit_api(session: AsyncSession, request: Request, principal: Principal, action: str,
                    *, object_type: str, object_id: str | int | None,
                    details: dict[str, Any] | None = None) -> None:
    """One audit row for a state change made through the API, in the request's transaction."""
    await audit.record(session, api_actor(request, principal), action,
                       merchant_id=principal.merchant_id, mode=principal.mode,
                       object_type=object_type, object_id=object_id, details=details)


Ctx = Annotated[AppContext, Depends(app_context)]
# scope="function": the transaction commits (or rolls back) when the route returns, before
# the response is sent -- FastAPI's default ends a yield dependency after the response,
# when a client could already act on an answer whose data is not yet committed.
Session = Annotated[AsyncSession, Depends(session_dep, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(read_session_dep, scope="function")]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Writer = Annotated[Principal, Depends(require_scope("write"))]
Admin = Annotated[Principal, Depends(require_scope("admin"))]
