"""Posting to the ledger, account balances, and the verifier.

Accounts (one set per merchant, mode and currency):

============================  ================  =======  =====================================
account                       type              normal   meaning
============================  ================  =======  =====================================
``gateway_clearing``          asset             debit    money the gateways hold for us
``merchant_payable``          liability         credit   what we owe the merchant (gross)
``fee_income``                revenue           credit   our fees
``refunds``                   contra-liability  debit    refunds given back, charged to the
                                                         merchant (reduces what we owe it)
============================  ================  =======  =====================================

Postings (each a journal whose entries balance):

- payment completed, amount A: debit ``gateway_clearing`` A, credit ``merchant_payable`` A
- its fee F (if F > 0):         debit ``merchant_payable`` F, credit ``fee_income`` F
- refund completed, amount R:   debit ``refunds`` R, credit ``gateway_clearing`` R

Functions here only insert (there is no update or delete path; the migration's triggers
refuse both) and are called inside the caller's transaction, right after the status
compare-and-set that makes the posting happen exactly once.  See docs/ledger.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import money
from ownpay.ledger.models import CREDIT, DEBIT, LedgerEntry, LedgerJournal
from ownpay.payments import states
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import COMPLETED as REFUND_COMPLETED
from ownpay.refunds.models import PENDING as REFUND_PENDING
from ownpay.refunds.models import Refund
from ownpay.timefmt import iso

GATEWAY_CLEARING = "gateway_clearing"
MERCHANT_PAYABLE = "merchant_payable"
FEE_INCOME = "fee_income"
REFUNDS = "refunds"

# account -> (type, normal side)
ACCOUNTS: dict[str, tuple[str, str]] = {
    GATEWAY_CLEARING: ("asset", DEBIT),
    MERCHANT_PAYABLE: ("liability", CREDIT),
    FEE_INCOME: ("revenue", CREDIT),
    REFUNDS: ("contra-liability", DEBIT),
}

PAYMENT = "payment"
FEE = "fee"
REFUND = "refund"
ADJUSTMENT = "adjustment"


class UnbalancedJournal(ValueError):
    """A posting whose debits and credits differ: a bug, never written."""


def new_journal_id() -> str:
    return "jrn_" + secrets.token_hex(12)


Line = tuple[str, str, int]  # (account, direction, amount_minor)


async def post(
    session: AsyncSession,
    *,
    merchant_id: int,
    mode: str,
    currency: str,
    kind: str,
    source: str,
    lines: Sequence[Line],
    now: datetime,
    payment_id: str | None = None,
    refund_id: str | None = None,
    memo: str | None = None,
) -> str:
    """Write one balanced journal; returns its id."""
    debits = sum(amount for _, direction, amount in lines if direction == DEBIT)
    credits = sum(amount for _, direction, amount in lines if direction == CREDIT)
    if debits != credits or any(amount <= 0 for *_, amount in lines) or not lines:
        raise UnbalancedJournal(f"{source}: debits {debits} != credits {credits}")
    if any(account not in ACCOUNTS for account, *_ in lines):
        raise UnbalancedJournal(f"{source}: unknown account")
    journal_id = new_journal_id()
    session.add(
        LedgerJournal(
            id=journal_id, merchant_id=merchant_id, mode=mode, currency=currency, kind=kind,
            source=source, payment_id=payment_id, refund_id=refund_id, memo=memo,
            created_at=now,
        )
    )
    await session.flush()
    session.add_all(
        LedgerEntry(
            journal_id=journal_id, merchant_id=merchant_id, mode=mode, currency=currency,
            account=account, direction=direction, amount_minor=amount, created_at=now,
        )
        for account, direction, amount in lines
    )
    await session.flush()
    return journal_id


async def record_payment_completed(
    session: AsyncSession, intent: PaymentIntent, *, now: datetime
) -> None:
    """At completion: the payment's journal and its fee's (``intent.fee_minor``, fixed by
    the payments service in the same transaction).

    Called by ``payments.service.transition`` right after its compare-and-set moved the
    payment to ``completed``, in the same transaction: one completion, one posting.
    """
    fee = intent.fee_minor or 0
    scope: dict[str, Any] = {
        "merchant_id": intent.merchant_id, "mode": intent.mode, "currency": intent.currency,
        "payment_id": intent.id, "now": now,
    }
    await post(
        session, kind=PAYMENT, source=f"payment:{intent.id}", memo="payment completed",
        lines=[(GATEWAY_CLEARING, DEBIT, intent.amount_minor),
               (MERCHANT_PAYABLE, CREDIT, intent.amount_minor)],
        **scope,
    )
    if fee > 0:
        await post(
            session, kind=FEE, source=f"fee:{intent.id}", memo="fee on payment",
            lines=[(MERCHANT_PAYABLE, DEBIT, fee), (FEE_INCOME, CREDIT, fee)],
            **scope,
        )


async def record_refund_completed(session: AsyncSession, refund: Refund, *, now: datetime) -> str:
    """A completed refund: the gateway paid the customer back, charged to the merchant."""
    return await post(
        session, merchant_id=refund.merchant_id, mode=refund.mode, currency=refund.currency,
        kind=REFUND, source=f"refund:{refund.id}", payment_id=refund.payment_id,
        refund_id=refund.id, memo="refund completed", now=now,
        lines=[(REFUNDS, DEBIT, refund.amount_minor),
               (GATEWAY_CLEARING, CREDIT, refund.amount_minor)],
    )


# ---- balances ----------------------------------------------------------------------------

_DEBITS = func.coalesce(
    func.sum(case((LedgerEntry.direction == DEBIT, LedgerEntry.amount_minor), else_=0)), 0
)
_CREDITS = func.coalesce(
    func.sum(case((LedgerEntry.direction == CREDIT, LedgerEntry.amount_minor), else_=0)), 0
)


def normal_balance(account: str, debits: int, credits: int) -> int:
    """The balance on the account's normal side (positive in the usual case)."""
    side = ACCOUNTS.get(account, ("unknown", DEBIT))[1]
    return debits - credits if side == DEBIT else credits - debits


async def balances(session: AsyncSession, *, merchant_id: int, mode: str) -> list[dict[str, Any]]:
    """Per currency, every account's debits, credits and balance (API shape, major units)."""
    rows = (
        await session.execute(
            select(LedgerEntry.currency, LedgerEntry.account, _DEBITS, _CREDITS)
            .where(LedgerEntry.merchant_id == merchant_id, LedgerEntry.mode == mode)
            .group_by(LedgerEntry.currency, LedgerEntry.account)
            .order_by(LedgerEntry.currency, LedgerEntry.account)
        )
    ).all()
    by_currency: dict[str, dict[str, tuple[int, int]]] = {}
    for currency, account, debits, credits in rows:
        by_currency.setdefault(currency, {})[account] = (int(debits), int(credits))
    out: list[dict[str, Any]] = []
    for currency, accounts in by_currency.items():
        total_debits = sum(d for d, _ in accounts.values())
        total_credits = sum(c for _, c in accounts.values())
        shown: dict[str, Any] = {}
        for account in [*ACCOUNTS, *sorted(set(accounts) - set(ACCOUNTS))]:
            debits, credits = accounts.get(account, (0, 0))
            kind, side = ACCOUNTS.get(account, ("unknown", DEBIT))
            shown[account] = {
                "type": kind,
                "normal_balance": side,
                "debits": money.json_number(debits, currency),
                "credits": money.json_number(credits, currency),
                "balance": money.json_number(normal_balance(account, debits, credits), currency),
            }
        payable = normal_balance(MERCHANT_PAYABLE, *accounts.get(MERCHANT_PAYABLE, (0, 0)))
        refunded = normal_balance(REFUNDS, *accounts.get(REFUNDS, (0, 0)))
        out.append({
            "currency": currency,
            "accounts": shown,
            # What the merchant is owed after refunds: payable less the refunds contra account.
            "merchant_net_payable": money.json_number(payable - refunded, currency),
            "total_debits": money.json_number(total_debits, currency),
            "total_credits": money.json_number(total_credits, currency),
            "balanced": total_debits == total_credits,
        })
    return out


# ---- verification --------------------------------------------------------------------------


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


async def verify(
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
            select(LedgerEntry.journal_id, _DEBITS, _CREDITS)
            .where(*scoped(LedgerEntry))
            .group_by(LedgerEntry.journal_id)
            .having(_DEBITS != _CREDITS)
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
            select(E.merchant_id, E.mode, E.currency, E.account, _DEBITS, _CREDITS)
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
