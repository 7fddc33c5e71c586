"""Public identifiers: random, prefixed, fixed-length lower-case hex."""

from __future__ import annotations

import re
import secrets

TXN_PATTERN = re.compile(r"^txn_[0-9a-f]{16}$")


def transaction_id() -> str:
    return "txn_" + secrets.token_hex(8)


def event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def is_transaction_id(value: str) -> bool:
    return bool(TXN_PATTERN.match(value))
