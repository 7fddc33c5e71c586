"""FastAPI dependencies shared by every JSON route.

The request owns the transaction (STYLE.md habit 3): :func:`session_dep` opens one session
and one transaction per request, commits when the route returns and rolls back on any
exception; services and repositories only ``flush()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.context import AppContext
from ownpay.merchants.auth import Principal, require_scope


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def session_dep(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction: commit on success, roll back on any error."""
    async with app_context(request).sessions() as session, session.begin():
        yield session


@contextlib.asynccontextmanager
async def unit_of_work(ctx: AppContext) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, for work a route runs outside its request's session
    (``create_once``'s unit): commit on leaving, roll back on an exception."""
    async with ctx.sessions() as session, session.begin():
        yield session


Ctx = Annotated[AppContext, Depends(app_context)]
Session = Annotated[AsyncSession, Depends(session_dep)]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Writer = Annotated[Principal, Depends(require_scope("write"))]
Admin = Annotated[Principal, Depends(require_scope("admin"))]
