"""Read one SMS: which provider sent it, what kind of message it is, and -- for the message
shapes :mod:`ownpay.sms.patterns` knows -- the exact amount, fee and balance in minor units,
the other party, the free-text reference, the transaction id and the time (day-first local
time in Asia/Dhaka, returned in UTC).

Never a guess: a message from a provider that no pattern recognises is ``UNRECOGNISED``
(it goes to review with its raw text), a message from any other sender is ``NOT_A_PROVIDER``,
and a recognised shape whose fields do not read (an amount with a misplaced separator, a
31st of February) is ``UNRECOGNISED`` too, naming what failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ownpay.sms.patterns import CREDITS, PROMOTION, Kind, Pattern, Provider, provider_for_sender

DHAKA = ZoneInfo("Asia/Dhaka")
MAX_LENGTH = 1600  # ten concatenated SMS segments; longer is no wallet provider's message
NOT_A_PROVIDER = "not_a_provider"
UNRECOGNISED = "unrecognised"
CURRENCY = "BDT"  # every provider here reports taka, with two decimals

_GROUPED = re.compile(r"\d{1,3}(?:,\d{2,3})*(?:\.\d{1,2})?")


@dataclass(frozen=True)
class Parsed:
    """What a message says.  ``kind`` is a :class:`Kind` value, or ``NOT_A_PROVIDER`` /
    ``UNRECOGNISED``; the other fields are ``None`` when the message does not carry them."""

    kind: str
    provider: str | None = None
    pattern: str | None = None
    amount_minor: int | None = None
    fee_minor: int | None = None
    balance_minor: int | None = None
    party: str | None = None
    reference: str | None = None
    trx_id: str | None = None
    at: datetime | None = None
    problem: str | None = None

    @property
    def is_credit(self) -> bool:
        """Money into the wallet from someone else: the only messages that may verify a
        payment."""
        return self.kind in CREDITS and self.amount_minor is not None and bool(self.trx_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "provider": self.provider, "pattern": self.pattern,
            "currency": CURRENCY if self.amount_minor is not None else None,
            "amount_minor": self.amount_minor, "fee_minor": self.fee_minor,
            "balance_minor": self.balance_minor, "party": self.party,
            "reference": self.reference, "trx_id": self.trx_id,
            "at": self.at.isoformat() if self.at else None, "problem": self.problem,
        }


class _Unreadable(ValueError):
    pass


def taka_minor(text: str) -> int:
    """``"6,400.00"`` → 640000, ``"500"`` → 50000.  Thousands separators must group digits
    (Western 1,234,567 or South Asian 12,34,567); anything else is refused."""
    if "," in text and not _GROUPED.fullmatch(text):
        raise _Unreadable(f"amount {text!r}")
    whole, _, fraction = text.replace(",", "").partition(".")
    digits = whole + fraction
    if not whole or not (digits.isascii() and digits.isdigit()) or len(fraction) > 2:
        raise _Unreadable(f"amount {text!r}")
    return int((Decimal(f"{whole}.{fraction or '0'}") * 100).to_integral_exact())


def local_time(text: str, date_format: str) -> datetime:
    try:
        naive = datetime.strptime(text, date_format)  # %b and %p ignore case
    except ValueError as exc:
        raise _Unreadable(f"time {text!r}") from exc
    return naive.replace(tzinfo=DHAKA).astimezone(UTC)


def _read(provider: Provider, pattern: Pattern, found: re.Match[str]) -> Parsed:
    groups = {k: v for k, v in found.groupdict().items() if v is not None}
    money = {name: taka_minor(groups[name]) for name in ("amount", "fee", "balance")
             if name in groups}
    at = (local_time(groups["at"], pattern.date_format)
          if "at" in groups and pattern.date_format else None)
    reference = groups.get("ref", "").strip() or None
    return Parsed(
        kind=pattern.kind.value, provider=provider.slug, pattern=pattern.name,
        amount_minor=money.get("amount"), fee_minor=money.get("fee"),
        balance_minor=money.get("balance"), party=groups.get("party"), reference=reference,
        trx_id=groups["trx"].upper() if "trx" in groups else None, at=at)


def normalise(text: str) -> str:
    """Line endings to ``\\n``, runs of spaces and tabs to one space, no outer blanks (phones
    and forwarders differ in all three)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()


def parse(sender: str, text: str) -> Parsed:
    """Classify and read one message; never raises for any input."""
    provider = provider_for_sender(sender)
    if provider is None:
        return Parsed(kind=NOT_A_PROVIDER, problem=f"{sender[:40]!r} is no wallet provider's "
                      "sender id")
    if len(text) > MAX_LENGTH:
        return Parsed(kind=UNRECOGNISED, provider=provider.slug,
                      problem=f"longer than {MAX_LENGTH} characters")
    message = normalise(text)
    for pattern in (*provider.patterns, PROMOTION):
        found = pattern.regex.search(message)
        if found is None:
            continue
        try:
            return _read(provider, pattern, found)
        except _Unreadable as exc:
            return Parsed(kind=UNRECOGNISED, provider=provider.slug, pattern=pattern.name,
                          problem=f"{pattern.name}: unreadable {exc}")
    return Parsed(kind=UNRECOGNISED, provider=provider.slug, problem="no pattern matches")


__all__ = ["CURRENCY", "MAX_LENGTH", "NOT_A_PROVIDER", "UNRECOGNISED", "Kind", "Parsed",
           "normalise", "parse", "taka_minor"]
