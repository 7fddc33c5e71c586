"""``ownpay ledger verify`` (and the API's future ledger checks): the ledger must balance per
scope and currency, and equal what the payments, fees and refunds tables say it must be.
A problem names the check, the scope and the journal or payment at fault."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay.ledger.models import LedgerEntry, LedgerJournal
from ownpay.ledger.service import (
    ACCOUNTS,
    CREDITS,
    DEBITS,
    FEE,
    FEE_INCOME,
    GATEWAY_CLEARING,
    MERCHANT_PAYABLE,
    PAYMENT,
    REFUND,
    REFUNDS,
    normal_balance,
)
from ownpay.payments import states
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import COMPLETED as REFUND_COMPLETED
from ownpay.refunds.models import PENDING as REFUND_PENDING
from ownpay.refunds.models import Refund
from ownpay.timefmt import iso


@dataclass
class Problem:
    check: str
    message: str
    merchant_id: int | None = None
    mode: str | None = None
    currency: str | None = None
    journal_id: str | None = None
    payment_id: str | None = None
    refund_id: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Report:
    journals: int
    entries: int
    scopes: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "journals": self.journals, "entries": self.entries,
                "scopes": self.scopes, "problems": [asdict(p) for p in self.problems]}


def _entry_dict(e: LedgerEntry) -> dict[str, Any]:
    return {"id": e.id, "journal_id": e.journal_id, "merchant_id": e.merchant_id,
            "mode": e.mode, "currency": e.currency, "account": e.account,
            "direction": e.direction, "amount_minor": e.amount_minor,
            "created_at": iso(e.created_at)}


class _Scoped:
    def __init__(self, merchant_id: int | None, mode: str | None) -> None:
        self.merchant_id = merchant_id
        self.mode = mode

    def __call__(self, model: Any) -> list[Any]:
        conditions = []
        if self.merchant_id is not None:
            conditions.append(model.merchant_id == self.merchant_id)
        if self.mode is not None:
            conditions.append(model.mode == self.mode)
        return conditions


async def operator_verify(
    session: AsyncSession, *, merchant_id: int | None = None, mode: str | None = None,
    limit: int = 100,
) -> Report:
    """Prove the books: every journal balances, every scope balances, and every account
    equals what the payments, fees and refunds tables say it must be.

    ``limit`` caps the problems reported per check (the verdict is exact regardless).
    """
    scoped = _Scoped(merchant_id, mode)
    problems: list[Problem] = []
    journals = int(await session.scalar(
        select(func.count()).select_from(LedgerJournal).where(*scoped(LedgerJournal))) or 0)
    entries = int(await session.scalar(
        select(func.count()).select_from(LedgerEntry).where(*scoped(LedgerEntry))) or 0)

    # 1. every journal balances (and its entries belong to its merchant, mode, currency)
    unbalanced = (
        await session.execute(
            select(LedgerEntry.journal_id, DEBITS, CREDITS)
            .where(*scoped(LedgerEntry))
            .group_by(LedgerEntry.journal_id)
            .having(DEBITS != CREDITS)
            .limit(limit)
        )
    ).all()
    for journal_id, debits, credits in unbalanced:
        rows = list(await session.scalars(
            select(LedgerEntry).where(LedgerEntry.journal_id == journal_id).order_by(LedgerEntry.id)
        ))
        first = rows[0]
        problems.append(Problem(
            check="journal_balance",
            message=f"journal {journal_id}: debits {int(debits)} != credits {int(credits)}",
            merchant_id=first.merchant_id, mode=first.mode, currency=first.currency,
            journal_id=journal_id, entries=[_entry_dict(e) for e in rows],
        ))
    J = LedgerJournal  # noqa: N806 - reads like the table
    E = LedgerEntry  # noqa: N806
    strays = list(await session.scalars(
        select(E).join(J, J.id == E.journal_id)
        .where(*scoped(E), or_(E.merchant_id != J.merchant_id, E.mode != J.mode,
                               E.currency != J.currency))
        .limit(limit)
    ))
    for e in strays:
        problems.append(Problem(
            check="entry_scope", message=f"entry {e.id} differs from its journal's scope",
            merchant_id=e.merchant_id, mode=e.mode, currency=e.currency,
            journal_id=e.journal_id, entries=[_entry_dict(e)],
        ))
    unknown = list(await session.scalars(
        select(E).where(*scoped(E), E.account.not_in(list(ACCOUNTS))).limit(limit)))
    for e in unknown:
        problems.append(Problem(
            check="unknown_account", message=f"entry {e.id} posts to unknown account {e.account!r}",
            merchant_id=e.merchant_id, mode=e.mode, currency=e.currency,
            journal_id=e.journal_id, entries=[_entry_dict(e)],
        ))

    # 2. totals per scope, and 3. account balances against the business tables
    actual: dict[tuple[int, str, str], dict[str, tuple[int, int]]] = {}
    for m_id, m_mode, currency, account, debits, credits in (
        await session.execute(
            select(E.merchant_id, E.mode, E.currency, E.account, DEBITS, CREDITS)
            .where(*scoped(E))
            .group_by(E.merchant_id, E.mode, E.currency, E.account)
        )
    ).all():
        actual.setdefault((m_id, m_mode, currency), {})[account] = (int(debits), int(credits))
    expected = await _expected_balances(session, scoped)
    for scope in sorted(set(actual) | set(expected)):
        accounts = actual.get(scope, {})
        debits = sum(d for d, _ in accounts.values())
        credits = sum(c for _, c in accounts.values())
        m_id, m_mode, currency = scope
        if debits != credits:
            problems.append(Problem(
                check="scope_balance",
                message=f"total debits {debits} != total credits {credits}",
                merchant_id=m_id, mode=m_mode, currency=currency,
            ))
        for account, want in expected.get(scope, dict.fromkeys(ACCOUNTS, 0)).items():
            have = normal_balance(account, *accounts.get(account, (0, 0)))
            if have != want:
                problems.append(Problem(
                    check="account_balance",
                    message=f"{account}: ledger balance {have} != {want} expected from "
                            "completed payments, fees and refunds",
                    merchant_id=m_id, mode=m_mode, currency=currency,
                ))

    # 4. each payment's refund bookkeeping, fee and status agree with its refunds
    problems.extend(await _payment_problems(session, scoped, limit))
    # 5. every business event posted once, and nothing posted for what did not happen
    problems.extend(await _posting_problems(session, scoped, limit))
    return Report(journals=journals, entries=entries, scopes=len(set(actual) | set(expected)),
                  problems=problems)


async def _expected_balances(
    session: AsyncSession, scoped: _Scoped
) -> dict[tuple[int, str, str], dict[str, int]]:
    P = PaymentIntent  # noqa: N806
    R = Refund  # noqa: N806
    paid = (await session.execute(
        select(P.merchant_id, P.mode, P.currency, func.sum(P.amount_minor),
               func.coalesce(func.sum(P.fee_minor), 0), func.coalesce(func.sum(P.net_minor), 0))
        .where(*scoped(P), P.status.in_(list(states.PAID)))
        .group_by(P.merchant_id, P.mode, P.currency)
    )).all()
    refunded = (await session.execute(
        select(R.merchant_id, R.mode, R.currency, func.sum(R.amount_minor))
        .where(*scoped(R), R.status == REFUND_COMPLETED)
        .group_by(R.merchant_id, R.mode, R.currency)
    )).all()
    out: dict[tuple[int, str, str], dict[str, int]] = {}
    for m_id, m_mode, currency, amount, fee, net in paid:
        out[(m_id, m_mode, currency)] = {
            GATEWAY_CLEARING: int(amount or 0), MERCHANT_PAYABLE: int(net or 0),
            FEE_INCOME: int(fee or 0),
            REFUNDS: 0,
        }
    for m_id, m_mode, currency, amount in refunded:
        scope = out.setdefault((m_id, m_mode, currency), dict.fromkeys(ACCOUNTS, 0))
        scope[GATEWAY_CLEARING] -= int(amount)
        scope[REFUNDS] += int(amount)
    return out


async def _payment_problems(session: AsyncSession, scoped: _Scoped, limit: int) -> list[Problem]:
    P = PaymentIntent  # noqa: N806
    R = Refund  # noqa: N806
    done = (
        select(R.payment_id, func.sum(R.amount_minor).label("total"))
        .where(R.status == REFUND_COMPLETED).group_by(R.payment_id).subquery()
    )
    held = (
        select(R.payment_id, func.sum(R.amount_minor).label("total"))
        .where(R.status == REFUND_PENDING).group_by(R.payment_id).subquery()
    )
    refunded = func.coalesce(done.c.total, 0)
    reserved = func.coalesce(held.c.total, 0)
    paid = P.status.in_(list(states.PAID))
    bad = or_(
        P.refunded_minor != refunded,
        P.refund_reserved_minor != reserved,
        P.refunded_minor + P.refund_reserved_minor > P.amount_minor,
        and_(P.status == states.REFUNDED, P.refunded_minor != P.amount_minor),
        and_(P.status == states.PARTIALLY_REFUNDED,
             or_(P.refunded_minor <= 0, P.refunded_minor >= P.amount_minor)),
        and_(P.status == states.COMPLETED, P.refunded_minor != 0),
        and_(paid, or_(P.fee_minor.is_(None), P.net_minor.is_(None),
                       P.fee_minor + P.net_minor != P.amount_minor)),
        and_(~paid, or_(P.refunded_minor != 0, P.refund_reserved_minor != 0)),
    )
    rows = (await session.execute(
        select(P.id, P.merchant_id, P.mode, P.currency, P.status, P.amount_minor,
               P.refunded_minor, P.refund_reserved_minor, P.fee_minor, P.net_minor,
               refunded, reserved)
        .outerjoin(done, done.c.payment_id == P.id)
        .outerjoin(held, held.c.payment_id == P.id)
        .where(*scoped(P), or_(paid, P.refunded_minor != 0, P.refund_reserved_minor != 0,
                               done.c.total.is_not(None), held.c.total.is_not(None)), bad)
        .limit(limit)
    )).all()
    return [
        Problem(
            check="payment_refunds",
            message=(f"payment {r[0]} ({r[4]}): amount {r[5]}, refunded {r[6]} (refunds say "
                     f"{int(r[10])}), reserved {r[7]} (pending refunds say {int(r[11])}), "
                     f"fee {r[8]}, net {r[9]}"),
            merchant_id=r[1], mode=r[2], currency=r[3], payment_id=r[0],
        )
        for r in rows
    ]


async def _posting_problems(session: AsyncSession, scoped: _Scoped, limit: int) -> list[Problem]:
    P = PaymentIntent  # noqa: N806
    R = Refund  # noqa: N806
    J = LedgerJournal  # noqa: N806
    paid = P.status.in_(list(states.PAID))

    def journal(kind: str, column: Any, key: Any) -> Any:
        return exists().where(J.kind == kind, column == key)

    found: list[Problem] = []
    checks: list[tuple[str, Any, str]] = [
        ("missing_payment_posting",
         select(P.id, P.merchant_id, P.mode, P.currency)
         .where(*scoped(P), paid, ~journal(PAYMENT, J.payment_id, P.id)),
         "paid payment {} has no payment journal"),
        ("missing_fee_posting",
         select(P.id, P.merchant_id, P.mode, P.currency)
         .where(*scoped(P), paid, P.fee_minor > 0, ~journal(FEE, J.payment_id, P.id)),
         "payment {} has a fee but no fee journal"),
        ("unexpected_payment_posting",
         select(P.id, P.merchant_id, P.mode, P.currency)
         .where(*scoped(P), ~paid, journal(PAYMENT, J.payment_id, P.id)),
         "payment {} is not paid but has a payment journal"),
        ("missing_refund_posting",
         select(R.id, R.merchant_id, R.mode, R.currency)
         .where(*scoped(R), R.status == REFUND_COMPLETED, ~journal(REFUND, J.refund_id, R.id)),
         "completed refund {} has no refund journal"),
        ("unexpected_refund_posting",
         select(R.id, R.merchant_id, R.mode, R.currency)
         .where(*scoped(R), R.status != REFUND_COMPLETED, journal(REFUND, J.refund_id, R.id)),
         "refund {} is not completed but has a refund journal"),
    ]
    for check, stmt, message in checks:
        for object_id, m_id, m_mode, currency in (await session.execute(stmt.limit(limit))).all():
            is_refund = object_id.startswith("rf_")
            found.append(Problem(
                check=check, message=message.format(object_id), merchant_id=m_id, mode=m_mode,
                currency=currency, payment_id=None if is_refund else object_id,
                refund_id=object_id if is_refund else None,
            ))
    return found
