"""No customer template says anything in English that does not go through the catalogue:
each template's text outside tags, ``{% %}``, ``{{ }}`` and ``{# #}`` -- and the attributes
a customer reads or hears (``alt``, ``title``, ``aria-label``, ``placeholder``) -- has no
ASCII word besides the names customers know as they are (the allow-list).  With
``test_catalogue.py`` this is the missing-key test: a string either is wrapped (and then
must be translated) or fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ownpay"
TEMPLATES = sorted([
    *(SRC / "checkout" / "templates").glob("*.html"),
    *(SRC / "links" / "templates").glob("*.html"),
    *(SRC / "invoices" / "templates").glob("*.html"),
    *(SRC / "gateways").glob("*/templates/*.html"),
    SRC / "web" / "pages" / "templates" / "base.html",
])
# Names a customer reads as they are, in either language.
ALLOWED = {"bKash", "Nagad", "Rocket", "Upay", "TrxID", "OwnPay"}
COMMENT = re.compile(r"\{#.*?#\}", re.S)
TRANS = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)  # translated whole
CODE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
BLOCK = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
SPOKEN = re.compile(r"""\b(alt|title|aria-label|placeholder)\s*=\s*("[^"]*"|'[^']*')""", re.I)
TAG = re.compile(r"<[^>]*>", re.S)
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def untranslated(source: str) -> list[str]:
    text = CODE.sub(" ", TRANS.sub(" ", COMMENT.sub(" ", source)))
    text = BLOCK.sub(" ", text)
    spoken = [value[1:-1] for _name, value in SPOKEN.findall(text)]
    visible = TAG.sub(" ", text)
    words = [w for chunk in (visible, *spoken) for w in WORD.findall(chunk)]
    return [w for w in words if w not in ALLOWED and not w.startswith("&")]


def test_the_scan_finds_english_text() -> None:
    """The scanner itself: plain text and a spoken attribute are caught, wrapped text not."""
    assert untranslated('<p>Pay now</p>') == ["Pay", "now"]
    assert untranslated('<img alt="QR code" src="{{ x }}">') == ["QR", "code"]
    assert untranslated('<p>{{ _("Pay now") }}</p><p>{% trans %}x{% endtrans %}</p>') == []
    assert untranslated('<p>{# a comment #}bKash</p><script>var a = "b";</script>') == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_untranslated_text_in_customer_templates(template: Path) -> None:
    assert untranslated(template.read_text()) == [], (
        f"{template.relative_to(SRC)}: wrap these in _() and translate them "
        "(src/ownpay/locale/bn/LC_MESSAGES/messages.po)")


def test_every_customer_template_is_scanned() -> None:
    assert len(TEMPLATES) >= 25
    assert all(p.is_file() for p in TEMPLATES)
