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
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownpay import money
from ownpay.ledger.models import CREDIT, DEBIT, LedgerEntry, LedgerJournal
from ownpay.payments.models import PaymentIntent
from ownpay.refunds.models import Refund
from ownpay.tenancy import TenantScope

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


async def journals_of_payment(
    session: AsyncSession, *, scope: TenantScope, payment_id: str
) -> list[tuple[LedgerJournal, list[LedgerEntry]]]:
    """Every journal a payment posted (its payment, fee and refund journals), oldest first,
    each with its lines -- within ``scope``: another merchant's or mode's payment has none."""
    journals = list(await session.scalars(
        select(LedgerJournal)
        .where(LedgerJournal.payment_id == payment_id,
               LedgerJournal.merchant_id == scope.merchant_id,
               LedgerJournal.mode == scope.mode)
        .order_by(LedgerJournal.created_at, LedgerJournal.id)))
    if not journals:
        return []
    entries = list(await session.scalars(
        select(LedgerEntry).where(LedgerEntry.journal_id.in_([j.id for j in journals]))
        .order_by(LedgerEntry.id)))
    lines: dict[str, list[LedgerEntry]] = {j.id: [] for j in journals}
    for entry in entries:
        lines[entry.journal_id].append(entry)
    return [(j, lines[j.id]) for j in journals]


# ---- balances ----------------------------------------------------------------------------

DEBITS = func.coalesce(
    func.sum(case((LedgerEntry.direction == DEBIT, LedgerEntry.amount_minor), else_=0)), 0
)
CREDITS = func.coalesce(
    func.sum(case((LedgerEntry.direction == CREDIT, LedgerEntry.amount_minor), else_=0)), 0
)


def normal_balance(account: str, debits: int, credits: int) -> int:
    """The balance on the account's normal side (positive in the usual case)."""
    side = ACCOUNTS.get(account, ("unknown", DEBIT))[1]
    return debits - credits if side == DEBIT else credits - debits


async def balances(session: AsyncSession, *, scope: TenantScope) -> list[dict[str, Any]]:
    """Per currency, every account's debits, credits and balance (API shape, major units)."""
    rows = (
        await session.execute(
            select(LedgerEntry.currency, LedgerEntry.account, DEBITS, CREDITS)
            .where(LedgerEntry.merchant_id == scope.merchant_id, LedgerEntry.mode == scope.mode)
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
