"""The customer's language: gettext catalogues, the current language, and amounts, dates
and digits as that language writes them (issue 14).

* **Catalogues**: ``ownpay/locale/<lang>/LC_MESSAGES/messages.po``, compiled in memory on
  first use (``babel.messages`` ``read_po`` + ``write_mo``), so a fresh checkout works
  with ``make run`` / ``make test`` and no compile step; the ``.pot`` template is extracted
  by ``pybabel extract -F babel.cfg`` over the customer templates and Python sources.
* **The current language** is a context variable, set once per checkout request
  (``web/pages/language.py activate``) after the brand is known; :func:`gettext` and the
  Jinja2 ``{% trans %}`` / ``_()`` calls read it.  Outside a checkout request it is
  English, so the dashboard, the API and the CLI never see a translation.
* :func:`N_` marks a message for extraction where it is defined (a gateway's customer
  messages, a constant) and is translated where it is shown, with :func:`gettext`.
* :func:`amount` and :func:`date_parts`: Babel's formats for the locale, in Bengali digits
  for ``bn`` (the ``beng`` numbering system); :func:`ascii_digits` turns the digits a
  customer may type (০-৯) back into 0-9 for form fields.

Pure: no I/O besides reading the catalogues once; no domain imports (gateways may use
:func:`N_`).
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ownpay import money

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
LANGUAGES = ("en", "bn")
# What the language switch says, in the language it switches to.
NAMES = {"en": "English", "bn": "বাংলা"}
# Babel's locale and the browser's (Intl) for each language.
BABEL_LOCALES = {"en": "en_US", "bn": "bn_BD"}
BROWSER_LOCALES = {"en": "en", "bn": "bn-BD"}

BENGALI_DIGITS = "০১২৩৪৫৬৭৮৯"
_TO_ASCII = str.maketrans(BENGALI_DIGITS, "0123456789")
_TO_BENGALI = str.maketrans("0123456789", BENGALI_DIGITS)

_current: ContextVar[str] = ContextVar("ownpay_language", default=DEFAULT)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark ``message`` for the catalogue; translated where it is shown."""
    return message


def known(lang: str | None) -> str | None:
    """``lang`` when it is one of ours, else None."""
    return lang if lang in LANGUAGES else None


def current() -> str:
    return _current.get()


def activate(lang: str) -> None:
    """Make ``lang`` (one of :data:`LANGUAGES`) the language of the rest of this request."""
    _current.set(known(lang) or DEFAULT)


@contextmanager
def scoped() -> Iterator[None]:
    """English until :func:`activate` says otherwise, and back to what it was after: one
    request's language never outlives it (the checkout sub-application wraps each request)."""
    token = _current.set(DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: none), built once from its ``.po``."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.is_file():
        return _gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def gettext(message: str) -> str:
    """``message`` in the current language (itself when the catalogue lacks it)."""
    return translations(current()).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def _digits(text: str, lang: str) -> str:
    return text.translate(_TO_BENGALI) if lang == "bn" else text


def amount(minor: int, currency: str) -> str:
    """The amount as the current language writes it: ``৳১,২৫০.৫০`` in Bangla, ``BDT
    1,250.50`` in English (:func:`ownpay.money.format_amount`, exact decimals)."""
    lang = current()
    return _digits(money.format_amount(minor, currency, locale=BABEL_LOCALES[lang]), lang)


def date_parts(at: datetime) -> dict[str, str]:
    """A UTC time as the page shows it without JavaScript: date and time as two pieces
    that each stay on one line, and both together (the title)."""
    lang = current()
    at = at.astimezone(UTC)
    if lang == DEFAULT:
        date, time = at.strftime("%Y-%m-%d"), at.strftime("%H:%M:%S UTC")
    else:
        locale = BABEL_LOCALES[lang]
        date = _digits(format_date(at, "medium", locale=locale), lang)
        time = _digits(format_time(at, "HH:mm:ss", locale=locale, tzinfo=UTC), lang) + " UTC"
    return {"date": date, "time": time, "text": f"{date} {time}"}


def digits(text: str) -> str:
    """``text`` with its ASCII digits as the current language writes them (a quantity)."""
    return _digits(text, current())


def day(when: date) -> str:
    """A calendar day in words as the current language writes it: ``31 January 2099``,
    ``৩১ জানুয়ারী ২০৯৯``."""
    lang = current()
    return _digits(format_date(when, "d MMMM y", locale=BABEL_LOCALES[lang]), lang)


def ascii_digits(text: str) -> str:
    """Bengali digits (০-৯) as ASCII 0-9; everything else unchanged."""
    return text.translate(_TO_ASCII)
