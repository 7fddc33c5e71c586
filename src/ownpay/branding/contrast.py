"""Colour contrast by WCAG 2.x: relative luminance, the contrast ratio, and the text colour
(black or white) that reads best on a background.

The ratio is ``(L1 + 0.05) / (L2 + 0.05)`` with L the relative luminance of the lighter
(L1) and darker (L2) colour; sRGB channels are linearised with the 0.03928 threshold the
WCAG 2.x text gives.  AA for normal text is 4.5:1 (:data:`AA_TEXT`).  A ratio is shown to
two places ("4.48:1"); a failing one that would round up to the threshold is shown rounded
down ("4.49:1"), so what is refused never reads as passing.
"""

from __future__ import annotations

import math
import re

AA_TEXT = 4.5
BLACK = "#000000"
WHITE = "#ffffff"
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def is_color(value: str) -> bool:
    return bool(COLOR.match(value))


def luminance(color: str) -> float:
    """The relative luminance of ``#rrggbb`` (0 black … 1 white)."""
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(first: str, second: str) -> float:
    """The contrast ratio of two colours, 1 (none) … 21 (black on white)."""
    a, b = luminance(first), luminance(second)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def shown(value: float, *, failing: bool = False) -> str:
    """``4.48:1``; with ``failing``, never shown as reaching :data:`AA_TEXT`."""
    text = f"{value:.2f}:1"
    if failing and value < AA_TEXT <= round(value, 2):
        text = f"{math.floor(value * 100) / 100:.2f}:1"
    return text


def text_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (white on a tie)."""
    return WHITE if ratio(WHITE, background) >= ratio(BLACK, background) else BLACK


def readable(text: str, background: str) -> str | None:
    """None when ``text`` on ``background`` meets WCAG AA for text, else the refusal."""
    measured = ratio(text, background)
    if measured >= AA_TEXT:
        return None
    return (f"The button text has a contrast of {shown(measured, failing=True)} on the "
            f"primary colour; it needs {AA_TEXT}:1 (WCAG AA).")
