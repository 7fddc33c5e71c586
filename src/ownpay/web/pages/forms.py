"""Form bodies of every page: bounded, strictly decoded, the first value of each name."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from ownpay import jsoncodec
from ownpay.web.body import read_bounded

MAX_FORM_BYTES = 16 * 1024
# The largest form is the dashboard's payment link: about 20 inputs, one per allowed
# gateway, and up to 10 customer questions of 5 inputs each.
MAX_FORM_FIELDS = 100


class _FormTooLarge(Exception):
    pass


class BadForm(ValueError):
    """A form field holds a NUL character, a lone surrogate or invalid UTF-8."""


async def read_form(request: Request) -> dict[str, str] | None:
    """The submitted form (``application/x-www-form-urlencoded``, at most 16 KiB and
    :data:`MAX_FORM_FIELDS` fields), or None when too large.  A NUL character, a lone
    surrogate or invalid UTF-8 in any name or value is refused (:class:`BadForm`); the first
    value of a name counts."""
    try:
        raw = await read_bounded(request, limit=MAX_FORM_BYTES, too_large=_FormTooLarge())
    except _FormTooLarge:
        return None
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS,
                          encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadForm() from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if not (jsoncodec.clean_text(name) and jsoncodec.clean_text(value)):
            raise BadForm()
        values.setdefault(name, value)
    return values
