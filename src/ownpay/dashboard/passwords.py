"""Passwords: Argon2id hashes (``argon2-cffi``'s defaults, RFC 9106's second choice), strong
generated passwords, and a check that takes as long for an unknown account as for a wrong
password (no user enumeration by timing)."""

from __future__ import annotations

import functools
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256  # Argon2 takes any length; a bound keeps a hostile form cheap
_ALPHABET = string.ascii_letters + string.digits
_hasher = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verified against when the account does not exist, so both paths cost one Argon2 run
    (made at the first sign-in, not at import: every process and command imports this)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def generate() -> str:
    """20 characters from 62: about 119 bits, easy to paste."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(20))


def problem(password: str) -> str | None:
    """Why a chosen password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"The password must have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must have at most {MAX_LENGTH} characters."
    if password.strip() != password or not password.isprintable():
        return "The password must not start or end with spaces or contain control characters."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account; still one Argon2 run)."""
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]
    try:
        return _hasher.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
