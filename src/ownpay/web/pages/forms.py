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


def is_multipart(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "multipart/form-data"


async def read_upload_form(request: Request, *, max_files: int = 4,
                           max_fields: int = MAX_FORM_FIELDS
                           ) -> tuple[dict[str, str], dict[str, bytes]] | None:
    """A ``multipart/form-data`` form with file uploads (the whole body is bounded by
    ``web/middleware.py`` ``BoundedBodies``): its text fields, checked as :func:`read_form`
    checks them, and each file's bytes by field name (an empty file input is left out).
    None when it has too many parts; :class:`BadForm` when it cannot be parsed."""
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException

    try:
        parsed = await request.form(max_files=max_files, max_fields=max_fields)
    except MultiPartException as exc:
        if "Too many" in str(exc):
            return None
        raise BadForm() from None
    values: dict[str, str] = {}
    files: dict[str, bytes] = {}
    try:
        for name, value in parsed.multi_items():
            if not jsoncodec.clean_text(name):
                raise BadForm()
            if isinstance(value, UploadFile):
                data = await value.read()
                if data and name not in files:
                    files[name] = data
            elif not jsoncodec.clean_text(value):
                raise BadForm()
            else:
                values.setdefault(name, value)
    finally:
        await parsed.close()
    return values, files
