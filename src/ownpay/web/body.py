"""Request bodies: bounded reading, strict JSON parsing, and the one field-error collector.

Every JSON body is read with a size limit enforced while reading (not after), and parsed
by :func:`ownpay.jsoncodec.loads_strict` (exact decimals, bounded numbers, no NUL or lone
surrogates); anything but a JSON object is ``INVALID_JSON``.  Validators collect every bad
field in a :class:`FieldErrors` and raise once, so a caller learns all its mistakes at once
(ARCHITECTURE.md invariant 8).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ownpay import jsoncodec
from ownpay.errors import (  # noqa: F401 - FieldErrors: re-exported for validators
    FieldErrors,
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

MAX_BODY = 64 * 1024
REASON_LIMIT = 500


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json"))


async def read_bounded(request: Request, *, limit: int, too_large: Exception) -> bytes:
    """The raw body, refused with ``too_large`` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_body(request: Request) -> bytes:
    """The raw JSON body (``application/json`` or ``application/*+json``, ≤ 64 KiB)."""
    if not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType()
    return await read_bounded(request, limit=MAX_BODY, too_large=PayloadTooLarge())


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Strictly decoded JSON object, else ``INVALID_JSON`` saying why."""
    try:
        body = jsoncodec.loads_strict(raw)
    except jsoncodec.InvalidJsonBody as exc:
        raise InvalidJson(str(exc)) from None
    if not isinstance(body, dict):
        raise InvalidJson("The request body must be a JSON object.")
    return body


async def json_object(request: Request) -> dict[str, Any]:
    return parse_json_object(await read_json_body(request))


async def optional_reason(request: Request) -> str | None:
    """The optional ``{"reason": "…"}`` body of cancel/approve/reject/confirm/fail.

    An empty body is no reason; any other body must be a JSON object (any content type is
    accepted here, as these bodies are optional) with ``reason`` a string of at most 500
    characters or null."""
    raw = await read_bounded(request, limit=MAX_BODY, too_large=PayloadTooLarge())
    if not raw.strip():
        return None
    body = parse_json_object(raw)
    errors = FieldErrors()
    errors.refuse_unknown(body, ("reason",))
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > REASON_LIMIT):
        errors.add("reason", f"The reason must be a string of at most {REASON_LIMIT} characters.")
    errors.raise_if_any()
    return reason if isinstance(reason, str) else None
