"""Newest-first keyset pages addressed by ``starting_after`` (refunds, webhook deliveries).

Rows are ordered by ``(created_at, id)`` descending; the next page starts strictly after
the given row's position, so rows inserted while a client pages land before its cursor and
pages never repeat or skip one.  (Transactions use an opaque cursor instead, see
``transactions/service.py``.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.errors import ValidationFailed


def check_page_params(
    *, limit: int, maximum: int, status: str | None = None, statuses: Sequence[str] = ()
) -> None:
    """400 for a ``limit`` outside 1…maximum or a ``status`` not in ``statuses``."""
    errors: dict[str, list[str]] = {}
    if status is not None and status not in statuses:
        errors["status"] = [f"Status must be one of: {', '.join(statuses)}."]
    if not 1 <= limit <= maximum:
        errors["limit"] = [f"Limit must be between 1 and {maximum}."]
    if errors:
        raise ValidationFailed(errors=errors)


async def newest_first(
    session: AsyncSession,
    stmt: Select[Any],
    model: Any,
    *,
    scope: Iterable[ColumnElement[bool]],
    limit: int,
    starting_after: str | None,
    noun: str,
) -> tuple[list[Any], bool]:
    """One page of ``stmt`` (already filtered, selecting ``model``, a mapped class with
    ``id`` and ``created_at``) and whether more follow.  ``starting_after``
    must name a row within ``scope`` (the tenant), else 400 ``Unknown {noun} id.``."""
    if starting_after is not None:
        cursor = await session.scalar(
            select(model.created_at).where(model.id == starting_after, *scope)
        )
        if cursor is None:
            raise ValidationFailed(errors={"starting_after": [f"Unknown {noun} id."]})
        stmt = stmt.where(or_(
            model.created_at < cursor,
            and_(model.created_at == cursor, model.id < starting_after),
        ))
    stmt = stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    rows = list(await session.scalars(stmt))
    return rows[:limit], len(rows) > limit


def page_body(rows: Sequence[Any], has_more: bool, serialize: Any) -> dict[str, Any]:
    """The list envelope: ``data``, ``has_more`` and the ``next_cursor`` to pass back as
    ``starting_after`` (the last row's id, when more follow)."""
    return {
        "data": [serialize(row) for row in rows],
        "has_more": has_more,
        "next_cursor": rows[-1].id if has_more and rows else None,
    }
