"""The Stripe account's configuration: which fields a merchant sets, and their shapes
(checked when the gateway is enabled; enabling never calls Stripe)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ownpay.gateways.base import ConfigField
from ownpay.gateways.stripe.client import DEFAULT_API_BASE

DEFAULT_JS_URL = "https://js.stripe.com/v3/"
# Stripe's CSP guide: besides the script's origin, Stripe.js frames and calls these.
STRIPE_JS_ORIGINS = (
    "https://js.stripe.com",
    "https://*.js.stripe.com",
    "https://api.stripe.com",
    "https://hooks.stripe.com",
)
_KEY = re.compile(r"^[A-Za-z0-9_]{12,255}$")

CREDENTIAL_FIELDS: tuple[ConfigField, ...] = (
    ConfigField("secret_key", "Secret key", help="sk_test_…, sk_live_… or a restricted rk_…"),
    ConfigField("publishable_key", "Publishable key", secret=False, help="pk_test_…, pk_live_…"),
    ConfigField("webhook_secret", "Webhook signing secret", help="whsec_… of the endpoint"),
    ConfigField("api_base", "API base URL", secret=False, required=False,
                default=DEFAULT_API_BASE),
    ConfigField("js_url", "Stripe.js URL", secret=False, required=False, default=DEFAULT_JS_URL),
)


def valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment
        and not parts.username and not parts.password
    )


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def key_mode(key: str) -> str | None:
    for mode in ("test", "live"):
        if key.split("_")[1:2] == [mode]:
            return mode
    return None


def check(creds: dict[str, str]) -> dict[str, list[str]]:
    """Errors per field (none: ``creds`` is normalised in place)."""
    errors: dict[str, list[str]] = {}
    rules = (
        ("secret_key", ("sk_", "rk_"), "Secret key must start with sk_ (or rk_)."),
        ("publishable_key", ("pk_",), "Publishable key must start with pk_."),
        ("webhook_secret", ("whsec_",), "Webhook signing secret must start with whsec_."),
    )
    for name, prefixes, message in rules:
        value = creds.get(name, "")
        if value and (not value.startswith(prefixes) or not _KEY.match(value)):
            errors.setdefault(name, []).append(
                message + " Letters, digits and underscores only."
                if value.startswith(prefixes) else message
            )
    secret_mode = key_mode(creds.get("secret_key", ""))
    public_mode = key_mode(creds.get("publishable_key", ""))
    if not errors and secret_mode and public_mode and secret_mode != public_mode:
        errors["publishable_key"] = [
            "The publishable key and the secret key must both be test keys or both live keys."
        ]
    for name in ("api_base", "js_url"):
        value = creds.get(name, "").strip()
        if not valid_url(value) or (name == "api_base" and urlsplit(value).query):
            errors.setdefault(name, []).append("Must be an absolute http(s) URL.")
        else:
            creds[name] = value.rstrip("/") if name == "api_base" else value
    return errors


def script_origins(js_url: str) -> tuple[str, ...]:
    """CSP origins the checkout page needs for this Stripe.js URL."""
    origins = [origin(js_url)]
    if origins[0] == origin(DEFAULT_JS_URL):
        origins.extend(STRIPE_JS_ORIGINS)
    return tuple(dict.fromkeys(origins))
