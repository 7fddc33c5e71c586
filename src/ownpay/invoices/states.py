"""An invoice's statuses and the legal moves between them, as data (like
``payments/states.py``); ``service.transition`` refuses every other move.

draft → open (finalised: sent, no longer editable) → paid (set when its payments cover the
total) | void | uncollectible.  A draft is never paid, voided or written off: it was never
sent; it is changed or left alone.
"""

from __future__ import annotations

from typing import Literal

DRAFT = "draft"
OPEN = "open"
PAID = "paid"
VOID = "void"
UNCOLLECTIBLE = "uncollectible"

STATUSES = (DRAFT, OPEN, PAID, VOID, UNCOLLECTIBLE)
ALLOWED: frozenset[tuple[str, str]] = frozenset({
    (DRAFT, OPEN), (OPEN, PAID), (OPEN, VOID), (OPEN, UNCOLLECTIBLE),
})


def is_allowed(from_status: str, to_status: str) -> bool:
    return (from_status, to_status) in ALLOWED


Status = Literal["draft", "open", "paid", "void", "uncollectible"]
