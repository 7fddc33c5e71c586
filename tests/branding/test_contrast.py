"""WCAG 2.x contrast: known ratios, the text colour picked for a background, and the
refusal of a button text under AA (4.5:1) with the measured ratio in its message."""

from __future__ import annotations

import pytest

from ownpay.branding import contrast


@pytest.mark.parametrize(("text", "background", "expected"), [
    ("#000000", "#ffffff", 21.0),
    ("#ffffff", "#ffffff", 1.0),
    ("#777777", "#ffffff", 4.48),
    ("#767676", "#ffffff", 4.54),
    ("#ffffff", "#0000ff", 8.59),
])
def test_known_ratios(text: str, background: str, expected: float) -> None:
    assert contrast.ratio(text, background) == pytest.approx(expected, abs=0.005)
    assert contrast.ratio(background, text) == contrast.ratio(text, background)


@pytest.mark.parametrize(("background", "text"), [
    ("#ffffff", "#000000"), ("#000000", "#ffffff"), ("#4f46e5", "#ffffff"),
    ("#ffd400", "#000000"), ("#707070", "#ffffff"), ("#767676", "#000000"),
    ("#777777", "#000000"),
])
def test_the_text_colour_is_the_one_that_contrasts_more(background: str, text: str) -> None:
    assert contrast.text_on(background) == text


def test_a_button_text_under_aa_is_refused_with_its_ratio() -> None:
    assert contrast.readable("#767676", "#ffffff") is None
    assert contrast.readable("#000000", "#ffffff") is None
    refused = contrast.readable("#777777", "#ffffff")
    assert refused is not None and "4.48:1" in refused and "needs 4.5:1" in refused
    # 4.497:1 would round to 4.50: a failing ratio is never shown as reaching the bar
    assert contrast.shown(4.497, failing=True) == "4.49:1"
    assert contrast.shown(4.497) == "4.50:1"
