"""No module in src/ownpay grows past ~400 lines unnoticed: a longer one says why in its
docstring (a paragraph starting ``Size:``), so a reviewer sees the choice was made."""

from __future__ import annotations

import ast
from pathlib import Path

import ownpay

LIMIT = 400
SRC = Path(ownpay.__file__).parent


def test_long_modules_say_why_they_earn_it() -> None:
    unexplained = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") <= LIMIT:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if not any(paragraph.startswith("Size:") for paragraph in doc.split("\n\n")):
            unexplained.append(f"{path.relative_to(SRC)} ({text.count(chr(10))} lines)")
    assert not unexplained, "over 400 lines without a 'Size:' note: " + ", ".join(unexplained)
