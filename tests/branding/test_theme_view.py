"""The pages' ``brand`` context (``branding/theme.py view``): defaults without a brand, the
uploaded assets on our origin, and a brand's button text used only while it still reaches
AA on the primary colour (which can change later elsewhere)."""

from __future__ import annotations

from types import SimpleNamespace

from ownpay.branding import theme

SHA = "ab" * 32


def test_without_a_brand_the_defaults() -> None:
    shown = theme.view(None)
    assert shown["primary"] == theme.DEFAULT_PRIMARY and shown["on_primary"] == "#ffffff"
    assert shown["accent"] == shown["primary"] and not shown["accent_set"]
    assert shown["logo"] is shown["favicon"] is shown["stylesheet"] is None


def test_a_brands_assets_colours_and_contact() -> None:
    brand = SimpleNamespace(primary_color="#ffd400", logo_url="https://cdn.example/l.png",
                            theme={"logo": SHA, "css": SHA, "accent_color": "#0f766e",
                                   "support_email": "help@example.com", "footer_text": "Hi"})
    shown = theme.view(brand)
    assert shown["logo"] == f"/brand-assets/{SHA}.png" == theme.logo_src(brand)
    assert shown["stylesheet"] == f"/brand-assets/{SHA}.css" and shown["favicon"] is None
    assert (shown["on_primary"], shown["accent"], shown["on_accent"]) == (
        "#000000", "#0f766e", "#ffffff")
    assert shown["support"] == {"support_email": "help@example.com"}
    assert shown["footer"] == "Hi" and shown["accent_set"]
    assert theme.logo_src(SimpleNamespace(theme=None, logo_url="https://cdn.example/l.png")) \
        == "https://cdn.example/l.png"


def test_a_button_text_that_no_longer_reaches_aa_is_not_used() -> None:
    assert theme.colours("#1a73e8", button_text="#ffffff")["on_primary"] == "#ffffff"
    # the primary colour was later changed to white: white text would vanish
    assert theme.colours("#ffffff", button_text="#ffffff")["on_primary"] == "#000000"
