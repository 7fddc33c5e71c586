"""The manual gateway's rules: the fields a merchant asks for, and what a customer's
submission becomes (a claim awaiting an operator, never a completion).

Pure: no I/O, no clock, no logging.  There is no provider here, so no provider statuses:
an operator approves or rejects through the payments service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ownpay.gateways.base import ConfigInvalid, FormError, Outcome, VerifiedResult

DEFAULT_FIELDS: tuple[dict[str, str], ...] = (
    {"name": "sender_account", "label": "Sender account or phone number"},
    {"name": "provider_txn_id", "label": "Transaction ID from your payment provider"},
)
DEFAULT_INSTRUCTIONS = (
    "Send the exact amount using the payment method agreed with the merchant, then enter "
    "the account you paid from and the transaction ID you received."
)
MAX_INSTRUCTIONS = 5000
MAX_VALUE_LENGTH = 100
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# What a customer must never be asked for: everything submitted is shown to the operator
# (the API, the CLI, webhooks).  Matched against the words of a field's name and label.
_SECRET_WORDS = frozenset(
    {"pin", "password", "passcode", "passwd", "pwd", "otp", "cvv", "cvc", "secret"})
_SECRET_PHRASES = ("one time", "verification code", "security code")
_WORD = re.compile(r"[a-z0-9]+")


def _asks_for_a_secret(field: dict[str, str]) -> bool:
    words = _WORD.findall(f"{field['name'].replace('_', ' ')} {field['label']}".lower())
    text = f" {' '.join(words)} "
    return any(w in _SECRET_WORDS for w in words) or any(
        f" {phrase} " in text for phrase in _SECRET_PHRASES)


def parse_fields(raw: Any) -> list[dict[str, str]]:
    """Fields come as a list of {name,label} or as "name:Label,name2:Label 2" text."""
    if raw is None or raw == "":
        return [dict(f) for f in DEFAULT_FIELDS]
    items: list[dict[str, str]] = []
    if isinstance(raw, str):
        for part in raw.split(","):
            name, _, label = part.partition(":")
            items.append({"name": name.strip(), "label": label.strip() or name.strip()})
    elif isinstance(raw, list):
        for entry in raw:
            if not isinstance(entry, dict):
                raise ConfigInvalid({"fields": ["Each field must have a name and a label."]})
            items.append({"name": str(entry.get("name", "")), "label": str(entry.get("label", ""))})
    else:
        raise ConfigInvalid({"fields": ["Fields must be a list or 'name:Label,…' text."]})
    names = [i["name"] for i in items]
    if not items or any(not _FIELD_NAME.match(n) for n in names) or len(set(names)) != len(names):
        raise ConfigInvalid(
            {"fields": ["Field names must be unique, lower-case letters, digits or _."]}
        )
    secret = [i["name"] for i in items if _asks_for_a_secret(i)]
    if secret:
        raise ConfigInvalid({"fields": [
            f"Never ask a customer for a PIN, password or one-time code ({', '.join(secret)}): "
            "what they submit is shown to operators and sent in webhooks."]})
    return items


def submission(fields: list[dict[str, str]], form: Mapping[str, str]) -> VerifiedResult:
    """The customer's claim to have paid: every field filled in (``FormError`` otherwise),
    the provider's transaction id upper-cased so a reused one is recognised."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for f in fields:
        value = " ".join(str(form.get(f["name"], "")).split())
        if not value:
            errors.setdefault(f["name"], []).append(f"{f['label']} is required.")
        elif len(value) > MAX_VALUE_LENGTH:
            errors.setdefault(f["name"], []).append(
                f"{f['label']} must be at most {MAX_VALUE_LENGTH} characters."
            )
        values[f["name"]] = value
    if errors:
        raise FormError(errors)
    txn = values.get("provider_txn_id")
    return VerifiedResult(
        outcome=Outcome.AWAITING_VERIFICATION,
        provider_txn_id=txn.upper() if txn else None,
        submission=values,
        reason="customer submitted offline payment details",
    )
