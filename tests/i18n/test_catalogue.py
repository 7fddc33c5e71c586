"""The Bangla catalogue is complete: every message extracted *now* from the customer
templates and Python sources (``babel.cfg``, as ``pybabel extract`` reads it) has a
non-empty translation, none is fuzzy, and each keeps the message's placeholders -- so a new
string that nobody translated fails here, not in front of a customer.  The shipped ``.pot``
is the same extraction (regenerated with the command in docs/brands.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ownpay import i18n

ROOT = Path(__file__).resolve().parents[2]
PO = i18n.LOCALE_DIR / "bn" / "LC_MESSAGES" / "messages.po"
POT = i18n.LOCALE_DIR / "messages.pot"
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%[sd]")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    """babel.cfg's mapping, read the way pybabel reads it."""
    from babel.messages.frontend import parse_mapping_cfg
    with (ROOT / "babel.cfg").open() as f:
        return parse_mapping_cfg(f)


def extracted() -> dict[str, list[str]]:
    """msgid -> where it was found, extracted fresh from the sources."""
    method_map, options_map = _method_map()
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def messages() -> dict[str, list[str]]:
    found = extracted()
    assert len(found) > 150, "the extraction found (almost) nothing: is babel.cfg right?"
    return found


def catalogue() -> dict[str, object]:
    with PO.open("rb") as f:
        return {m.id: m for m in read_po(f, locale="bn") if m.id}


def test_every_extracted_message_has_a_bangla_translation(messages) -> None:
    cat = catalogue()
    missing = {m: where[0] for m, where in messages.items()
               if m not in cat or not getattr(cat[m], "string", "")}
    assert not missing, f"untranslated (add them to {PO.name}): {missing}"


def test_no_fuzzy_and_placeholders_kept() -> None:
    for msgid, message in catalogue().items():
        assert not message.fuzzy, f"fuzzy: {msgid!r}"  # type: ignore[attr-defined]
        string = message.string  # type: ignore[attr-defined]
        assert string and string.strip(), f"empty translation: {msgid!r}"
        assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(msgid)), (
            f"placeholders differ: {msgid!r} -> {string!r}")
        # HTML the message carries (<strong>…) is carried by the translation too.
        assert sorted(re.findall(r"</?\w+", string)) == sorted(re.findall(r"</?\w+", msgid))
        # Brand, wallet and transaction-id words stay as customers know them.
        for name in ("bKash", "Nagad", "Rocket", "Upay", "aamarPay", "SSLCommerz", "PayPal",
                     "Razorpay", "Stripe", "TrxID", "OTP"):
            assert msgid.count(name) <= string.count(name), (name, msgid, string)


def test_the_catalogue_holds_nothing_stale(messages) -> None:
    """A message no source uses any more is removed from the .po (and the .pot)."""
    stale = sorted(set(catalogue()) - set(messages))
    assert not stale, f"no longer in any source: {stale}"


def test_the_shipped_template_is_the_current_extraction(messages) -> None:
    with POT.open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template == set(messages), (
        "messages.pot is out of date: run the pybabel extract command in docs/brands.md")


def test_the_catalogue_compiles_and_is_used() -> None:
    i18n.translations.cache_clear()
    bn = i18n.translations("bn")
    assert bn.gettext("Pay to") == "প্রাপক"
    assert bn.gettext("Order") == "অর্ডার"
    assert bn.gettext("Link expires") == "লিংকের মেয়াদ শেষ হবে"
    assert bn.gettext("Pay %(amount)s") == "%(amount)s পরিশোধ করুন"
    assert i18n.translations("en").gettext("Pay to") == "Pay to"
