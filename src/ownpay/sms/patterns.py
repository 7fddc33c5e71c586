"""The wallet providers' SMS formats, as data: which sender ids a provider's messages come
from, and one pattern per message shape with the kind of message it is.

Only a message whose sender id is the provider's own is read as that provider's (anyone
can text "You have received Tk 500.00 …" from an ordinary number).  Patterns are tried in
order; the first that matches decides.  Every pattern is linear: fixed words between
bounded character classes, no nested or overlapping quantifiers, so a long hostile message
costs time in proportion to its length (and messages longer than
:data:`ownpay.sms.parsing.MAX_LENGTH` are not read at all).

Named groups: ``amount``, ``fee``, ``balance`` (``Tk`` amounts, thousands separators
allowed), ``party`` (the other wallet or account), ``ref`` (free text), ``trx`` (the
provider's transaction id) and ``at`` (day-first local time, read with the pattern's
``date_format`` in Asia/Dhaka).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a message is.  Only ``RECEIVED`` and ``CASH_IN`` put money into the wallet
    from someone else; every other kind is recorded and never matches a payment."""

    RECEIVED = "received"
    CASH_IN = "cash_in"
    DEBIT = "debit"  # payment, send money, cash out, bill payment, …
    CASHBACK = "cashback"
    OTP = "otp"
    PROMOTION = "promotion"


CREDITS = frozenset({Kind.RECEIVED, Kind.CASH_IN})


@dataclass(frozen=True)
class Pattern:
    name: str
    kind: Kind
    regex: re.Pattern[str]
    date_format: str | None = None


@dataclass(frozen=True)
class Provider:
    slug: str
    senders: frozenset[str]  # lower-case sender ids
    patterns: tuple[Pattern, ...]


AMOUNT = r"\d{1,3}(?:,\d{2,3})*(?:\.\d{1,2})?|\d{1,9}(?:\.\d{1,2})?"
PHONE = r"(?:\+?88)?01\d{9}"
_DMY_HM = r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}"


def _p(name: str, kind: Kind, source: str, date_format: str | None = None) -> Pattern:
    source = source.replace("{AMOUNT}", AMOUNT).replace("{PHONE}", PHONE)
    source = source.replace("{DMY_HM}", _DMY_HM)
    return Pattern(name, kind, re.compile(source, re.IGNORECASE | re.ASCII), date_format)


# Upper case as real messages print them; patterns match case-insensitively, so ids are
# upper-cased when read.
_TRX = r"(?P<trx>[A-Z0-9]{6,20})"
_REF = r"(?P<ref>[^\n]{1,80}?)"

BKASH = Provider("bkash", frozenset({"bkash"}), (
    _p("bkash.received", Kind.RECEIVED,
       r"^You have received Tk ?(?P<amount>{AMOUNT}) from (?P<party>{PHONE})\."
       r"(?: Ref " + _REF + r"\.)? Fee Tk ?(?P<fee>{AMOUNT})\. Balance Tk ?(?P<balance>{AMOUNT})"
       r"\. TrxID " + _TRX + r" at (?P<at>{DMY_HM})\.?", "%d/%m/%Y %H:%M"),
    _p("bkash.cash_in", Kind.CASH_IN,
       r"^Cash In Tk ?(?P<amount>{AMOUNT}) from (?P<party>{PHONE}) successful\. "
       r"Fee Tk ?(?P<fee>{AMOUNT})\. Balance Tk ?(?P<balance>{AMOUNT})\. TrxID " + _TRX
       + r" at (?P<at>{DMY_HM})\.?", "%d/%m/%Y %H:%M"),
    _p("bkash.cashback", Kind.CASHBACK, r"^You have received (?:a )?cashback"),
    _p("bkash.cashback_amount", Kind.CASHBACK, r"^You have received Tk ?(?:{AMOUNT}) cashback"),
    _p("bkash.payment", Kind.DEBIT,
       r"^Payment of Tk ?(?P<amount>{AMOUNT}) to (?P<party>[^\n]{1,60}?) is successful\."
       r"(?: Fee Tk ?(?P<fee>{AMOUNT})\.)? Balance Tk ?(?P<balance>{AMOUNT})\. TrxID "
       + _TRX + r" at (?P<at>{DMY_HM})\.?", "%d/%m/%Y %H:%M"),
    _p("bkash.debit", Kind.DEBIT,
       r"^(?:Send Money|Cash Out|Bill payment|Mobile recharge|Payment|Transfer)\b"),
    _p("bkash.otp", Kind.OTP, r"\b(?:verification code|OTP|PIN)\b"),
))

NAGAD = Provider("nagad", frozenset({"nagad"}), (
    _p("nagad.received", Kind.RECEIVED,
       r"^Money Received\.\s*\n\s*Amount: Tk ?(?P<amount>{AMOUNT})\s*\n"
       r"\s*Sender: (?P<party>{PHONE})\s*\n(?:\s*Ref: " + _REF + r"\s*\n)?"
       r"\s*TxnID: " + _TRX + r"\s*\n\s*Balance: Tk ?(?P<balance>{AMOUNT})\s*\n"
       r"\s*(?P<at>{DMY_HM})", "%d/%m/%Y %H:%M"),
    _p("nagad.cash_in", Kind.CASH_IN,
       r"^Cash In Received\.\s*\n\s*Amount: Tk ?(?P<amount>{AMOUNT})\s*\n"
       r"\s*Uddokta: (?P<party>{PHONE})\s*\n\s*TxnID: " + _TRX + r"\s*\n"
       r"\s*Balance: Tk ?(?P<balance>{AMOUNT})\s*\n\s*(?P<at>{DMY_HM})", "%d/%m/%Y %H:%M"),
    _p("nagad.debit", Kind.DEBIT, r"^(?:Money Sent|Cash Out|Payment|Bill Pay|Mobile Recharge)\b"),
    _p("nagad.cashback", Kind.CASHBACK, r"\bcashback\b"),
    _p("nagad.otp", Kind.OTP, r"\b(?:verification code|OTP)\b"),
))

ROCKET = Provider("rocket", frozenset({"16216", "rocket"}), (
    _p("rocket.received", Kind.RECEIVED,
       r"^Tk ?(?P<amount>{AMOUNT}) received from A/C: ?(?P<party>[*0-9]{4,20}) "
       r"Fee: ?Tk ?(?P<fee>{AMOUNT}), Your A/C Balance: ?Tk ?(?P<balance>{AMOUNT}) "
       r"TxnId: ?(?P<trx>\d{6,20}) Date: ?(?P<at>\d{2}-[A-Z]{3}-\d{2} \d{2}:\d{2}:\d{2} [AP]M)",
       "%d-%b-%y %I:%M:%S %p"),
    _p("rocket.debit", Kind.DEBIT, r"^Tk ?(?:{AMOUNT}) (?:sent|transferred|paid|withdrawn)\b"),
    _p("rocket.otp", Kind.OTP, r"\b(?:OTP|verification code|PIN)\b"),
))

UPAY = Provider("upay", frozenset({"upay"}), (
    _p("upay.received", Kind.RECEIVED,
       r"^Tk\.? ?(?P<amount>{AMOUNT}) has been received from (?P<party>{PHONE})\."
       r"(?: Ref- ?" + _REF + r"\.)? Balance Tk\.? ?(?P<balance>{AMOUNT})\. TrxID " + _TRX
       + r" at (?P<at>{DMY_HM})\.?", "%d/%m/%Y %H:%M"),
    _p("upay.debit", Kind.DEBIT,
       r"^Tk\.? ?(?:{AMOUNT}) has been (?:sent|paid|transferred|cashed out)\b"),
    _p("upay.cashback", Kind.CASHBACK, r"\bcashback\b"),
    _p("upay.otp", Kind.OTP, r"\b(?:OTP|verification code)\b"),
))

# Tried after a provider's own patterns: offers and campaigns (which often carry a link).
PROMOTION = _p("promotion", Kind.PROMOTION,
               r"https?://|\b(?:offer|campaign|discount|win|lucky|dial \*)")

PROVIDERS: tuple[Provider, ...] = (BKASH, NAGAD, ROCKET, UPAY)


def provider_for_sender(sender: str) -> Provider | None:
    wanted = sender.strip().lower()
    return next((p for p in PROVIDERS if wanted in p.senders), None)
