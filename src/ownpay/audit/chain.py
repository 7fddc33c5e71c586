"""The audit log's hash chain: every row stores the SHA-256 of its own content and of the
previous row's hash, so an edited row no longer matches its hash, and a deleted or
reordered row breaks the link to its neighbour.  ``verify`` names the first broken link.

Appends are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite's writer
lock already does it), and ``hash`` is unique, so two writers can never fork the chain.
Secrets never reach a row: :func:`redact` masks every field whose name says it is one.
What the chain cannot show on its own is the removal of the newest rows; ``ownpay audit
verify`` prints the head hash so an operator can keep it elsewhere and compare."""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.audit.models import AuditEntry
from ownpay.db import utcnow

GENESIS = "0" * 64
_LOCK_ID = 0x6F70_6175  # "opau": the audit chain's advisory lock on PostgreSQL
_SECRET_WORDS = ("password", "secret", "token", "key", "credential", "recovery", "totp")
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Actor:
    """Who did it, from where."""

    type: str  # user | api_key | worker | cli
    name: str
    role: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def cli_actor() -> Actor:
    """An ``ownpay`` command, named by the operating-system user who ran it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        user = str(os.getuid())
    return Actor(type="cli", name=f"cli:{user}")


WORKER_PREFIX = "worker:"


def worker_actor(actor: str) -> Actor | None:
    """The audit actor of a state change the background worker makes (its status-history
    rows name it ``worker:<step>``); None for anyone else -- users, API keys and the CLI
    are audited where they act, with their role, IP and request id."""
    if not actor.startswith(WORKER_PREFIX):
        return None
    return Actor(type="worker", name=actor[:254])


async def record_worker_move(session: AsyncSession, actor: str, kind: str, *, merchant_id: int,
                             mode: str, object_id: str, moves: Mapping[str, tuple[Any, Any]],
                             reason: str | None) -> None:
    """A row for a status move when the worker made it (``kind``: ``payment``, ``refund``;
    the action is ``<kind>.<new status>``), in the caller's transaction; nothing otherwise.
    The status writers call it, so no worker step can move money objects unaudited."""
    worker = worker_actor(actor)
    if worker is None:
        return
    details: dict[str, Any] = {name: {"before": before, "after": after}
                               for name, (before, after) in moves.items() if before != after}
    if reason:
        details["reason"] = reason[:500]
    await record(session, worker, f"{kind}.{moves['status'][1]}", merchant_id=merchant_id,
                 mode=mode, object_type=kind, object_id=object_id, details=details)


def redact(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            out[name] = REDACTED
        elif isinstance(value, Mapping):
            out[name] = redact(value)
        else:
            out[name] = value
    return out


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {"before": …, "after": …}}`` for the fields that differ, secrets masked."""
    diff = {}
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            diff[name] = {"before": before.get(name), "after": after.get(name)}
    return redact(diff)


def _content(row: AuditEntry) -> bytes:
    return orjson.dumps({
        "at": row.at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "actor_type": row.actor_type, "actor": row.actor, "role": row.role,
        "merchant_id": row.merchant_id, "mode": row.mode, "action": row.action,
        "object_type": row.object_type, "object_id": row.object_id, "changes": row.changes,
        "ip": row.ip, "user_agent": row.user_agent, "request_id": row.request_id,
    }, option=orjson.OPT_SORT_KEYS)


def digest(prev_hash: str, row: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _content(row)).hexdigest()


async def record(session: AsyncSession, actor: Actor, action: str, *,
                 merchant_id: int | None = None, mode: str | None = None,
                 object_type: str | None = None, object_id: str | int | None = None,
                 details: Mapping[str, Any] | None = None, at: datetime | None = None) -> None:
    """Append one row in the caller's transaction (it lands or rolls back with the action)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    prev = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    when = at or utcnow()
    row = AuditEntry(
        at=when.replace(microsecond=when.microsecond // 1000 * 1000),
        actor_type=actor.type, actor=actor.name[:254], role=actor.role,
        merchant_id=merchant_id, mode=mode, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        changes=redact(details or {}), ip=actor.ip,
        user_agent=(actor.user_agent or "")[:300] or None, request_id=actor.request_id,
        prev_hash=prev or GENESIS, hash="")
    row.hash = digest(row.prev_hash, row)
    session.add(row)
    await session.flush()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    head: str
    problem: str | None = None
    broken_id: int | None = None


async def verify(session: AsyncSession, *, batch: int = 1000) -> Verdict:
    """Walk the chain in id order; the first row that does not follow or does not match."""
    expected, count, last_id = GENESIS, 0, 0
    while True:
        rows = list(await session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
            .limit(batch)))
        if not rows:
            return Verdict(ok=True, rows=count, head=expected)
        for row in rows:
            if row.prev_hash != expected:
                return Verdict(False, count, expected, broken_id=row.id, problem=(
                    f"row {row.id} does not follow row {last_id or 'the start'}: a row between "
                    "them was deleted, or rows were reordered"))
            if digest(row.prev_hash, row) != row.hash:
                return Verdict(False, count, expected, broken_id=row.id, problem=(
                    f"row {row.id} was changed after it was written (its hash does not match)"))
            expected, last_id, count = row.hash, row.id, count + 1
        session.expunge_all()
