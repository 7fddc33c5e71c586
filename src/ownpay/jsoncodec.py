"""JSON in and out: one strict reader for every request body, one writer for every answer.

**Reading** (:func:`loads_strict`).  What we accept is what we can store, read back, sign
and send, so a request body is refused (``InvalidJsonBody``, with a sentence saying why)
when it has:

* a number literal longer than ``MAX_NUMBER_CHARS`` characters, or with a decimal exponent
  beyond ``±MAX_EXPONENT`` -- *before* it is turned into a Python number: converting a
  ~200-byte ``1e300000`` to an ``int`` used to block the server process for seconds;
* ``NaN``, ``Infinity`` or ``-Infinity`` (not JSON, and PostgreSQL's ``json`` refuses them);
* a key twice in one object (parsers disagree on which value wins);
* a NUL character or a lone UTF-16 surrogate in any string or key (PostgreSQL text cannot
  hold NUL; a surrogate cannot be encoded as UTF-8, so it could never be sent on);
* nesting deeper than ``MAX_DEPTH`` or more than ``MAX_MEMBERS`` values in all.

Fractions are parsed straight into :class:`~decimal.Decimal` (never through ``float``).

**Writing** (:func:`dumps`).  orjson, which refuses integers beyond 64 bits and strings
with lone surrogates.  New input can no longer carry those, but rows stored before the
reader was strict may: rather than failing an answer or a webhook for ever, such values are
written as strings (integers) or with U+FFFD (surrogates).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

MAX_NUMBER_CHARS = 100
MAX_EXPONENT = 308  # a double's range: nothing beyond it can be read back as a number
MAX_DEPTH = 32
MAX_MEMBERS = 10_000


class InvalidJsonBody(ValueError):
    """The body is not JSON we accept; ``str(exc)`` is a sentence for the caller."""


def _parse_float(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidJsonBody("The request body contains a number that is too long.")
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the scanner only hands over valid literals
        raise InvalidJsonBody("The request body contains an invalid number.") from None
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        raise InvalidJsonBody("The request body contains a number out of range.")
    return number


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidJsonBody("The request body contains a number that is too long.")
    return int(text)


def _parse_constant(name: str) -> Any:
    raise InvalidJsonBody(f"The request body contains {name}, which is not a JSON number.")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidJsonBody(f"The request body has the key '{key[:40]}' twice.")
            seen.add(key)
    return obj


_DECODER = json.JSONDecoder(
    parse_float=_parse_float,
    parse_int=_parse_int,
    parse_constant=_parse_constant,
    object_pairs_hook=_no_duplicates,
)


def clean_text(value: str) -> bool:
    """True if ``value`` has no NUL and no lone surrogate (i.e. it is storable UTF-8)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(value: Any) -> None:
    """Depth, size and text checks over the parsed value (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    members = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not clean_text(item):
                raise InvalidJsonBody(
                    "The request body contains a NUL character or invalid Unicode.")
            continue
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidJsonBody(
                    f"The request body is nested deeper than {MAX_DEPTH} levels.")
            members += len(item)
            if members > MAX_MEMBERS:
                raise InvalidJsonBody(
                    f"The request body has more than {MAX_MEMBERS} values.")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def loads_strict(raw: bytes | str) -> Any:
    """Parse a request body; raises :class:`InvalidJsonBody` for anything we refuse."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidJsonBody("The request body is not valid UTF-8.") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = _DECODER.decode(text)
    except InvalidJsonBody:
        raise
    except (ValueError, RecursionError):
        raise InvalidJsonBody("The request body is not valid JSON.") from None
    _check(value)
    return value


# ---- writing ---------------------------------------------------------------------------------

_INT64 = (-(2**63), 2**64 - 1)  # what orjson can write (signed and unsigned 64-bit)


def _writable(value: Any) -> Any:
    """A copy of ``value`` that orjson can write (see the module docstring)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if clean_text(value) else "".join(
            "\ufffd" if c == "\x00" or "\ud800" <= c <= "\udfff" else c for c in value)
    if isinstance(value, dict):
        return {_writable(str(k)): _writable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_writable(v) for v in value]
    return value


def dumps(value: Any, *, option: int | None = None) -> bytes:
    """orjson's bytes; values orjson refuses (see the module docstring) are made writable."""
    try:
        return orjson.dumps(value, option=option)
    except TypeError:
        return orjson.dumps(_writable(value), option=option)
