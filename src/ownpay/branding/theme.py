"""A brand's look and feel as the public pages use it: colours with their text colours,
the logo, favicon and stylesheet URLs on our own origin, the support contact and footer.

``merchants.theme`` (JSON) holds what is set beyond ``merchants.primary_color`` and
``merchants.logo_url``; :func:`view` turns a merchant (or none) into the template context
``brand`` that ``checkout/templates/_theme_head.html`` and ``_theme_foot.html`` read.
"""

from __future__ import annotations

from typing import Any

from ownpay.branding import contrast

DEFAULT_PRIMARY = "#4f46e5"
ASSET_PATH = "/brand-assets"
TEXT_FIELDS = ("support_email", "support_phone", "support_url", "footer_text")
COLOR_FIELDS = ("accent_color", "button_text_color")
ASSET_FIELDS = ("logo", "favicon", "css")


def asset_url(sha256: str, kind: str) -> str:
    return f"{ASSET_PATH}/{sha256}.{'css' if kind == 'css' else 'png'}"


def colours(primary: str | None, accent: str | None = None,
            button_text: str | None = None) -> dict[str, str]:
    """The CSS variables: each background with black or white text, whichever contrasts
    more (WCAG), unless the brand set its button text -- checked on saving, and again here,
    since the primary colour can change later elsewhere (``ownpay merchants update``, the
    brand's profile): a button text that no longer reaches AA is not used."""
    primary = primary or DEFAULT_PRIMARY
    accent = accent or primary
    if button_text and contrast.readable(button_text, primary) is not None:
        button_text = None
    return {"primary": primary, "on_primary": button_text or contrast.text_on(primary),
            "accent": accent, "on_accent": contrast.text_on(accent)}


def view(merchant: Any | None) -> dict[str, Any]:
    """The ``brand`` context of a public page (``merchant`` None: the installation's)."""
    if merchant is None:
        return {**colours(None), "favicon": None, "stylesheet": None, "logo": None,
                "support": {}, "footer": None, "accent_set": False}
    theme: dict[str, Any] = merchant.theme or {}
    shown = {**colours(merchant.primary_color, theme.get("accent_color"),
                       theme.get("button_text_color")),
             "logo": asset_url(theme["logo"], "logo") if theme.get("logo") else None,
             "favicon": asset_url(theme["favicon"], "favicon") if theme.get("favicon")
             else None,
             "stylesheet": asset_url(theme["css"], "css") if theme.get("css") else None,
             "support": {k: theme[k] for k in TEXT_FIELDS[:3] if theme.get(k)},
             "footer": theme.get("footer_text") or None,
             "accent_set": bool(theme.get("accent_color"))}
    return shown


def logo_src(merchant: Any) -> str | None:
    """The logo the header shows: the uploaded one (our origin), else the brand's logo URL."""
    theme: dict[str, Any] = merchant.theme or {}
    return asset_url(theme["logo"], "logo") if theme.get("logo") else merchant.logo_url
