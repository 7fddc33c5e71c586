"""Enabling Razorpay: what the merchant must give, and what is refused; the amounts
Razorpay can be sent."""

from __future__ import annotations

import httpx
import pytest

from ownpay.gateways.base import ConfigInvalid, GatewayContext
from ownpay.gateways.razorpay.adapter import API_URL, RazorpayGateway
from ownpay.gateways.razorpay.client import base_url
from ownpay.gateways.razorpay.mapping import from_razorpay_amount, to_razorpay_amount

GOOD = {"key_id": "rzp_test_1DP5mmOlF5G5ag", "key_secret": "s3cr3t-value"}


def test_credentials_are_required() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        RazorpayGateway().validate_config({"key_id": GOOD["key_id"]}, {})
    assert set(caught.value.errors) == {"key_secret"}
    assert "Key secret is required." in str(caught.value)


@pytest.mark.parametrize(("credentials", "field"), [
    ({**GOOD, "key_id": "1DP5mmOlF5G5ag"}, "key_id"),
    ({**GOOD, "key_id": "rzp_prod_1DP5mmOlF5G5ag"}, "key_id"),
    ({**GOOD, "key_id": "rzp_test_ab cd!"}, "key_id"),
    ({**GOOD, "store_id": "x"}, "store_id"),
])
def test_bad_key_id_and_unknown_fields_are_refused(credentials: dict[str, str],
                                                   field: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        RazorpayGateway().validate_config(credentials, {})
    assert set(caught.value.errors) == {field}


@pytest.mark.parametrize("base", ["ftp://example.com", "https://example.com/?x=1", "api"])
@pytest.mark.parametrize("name", ["base_url", "checkout_js_url"])
def test_a_bad_base_or_checkout_js_url_is_refused(base: str, name: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        RazorpayGateway().validate_config(GOOD, {name: base})
    assert set(caught.value.errors) == {name}


def test_the_checkout_js_url_is_kept_only_when_given() -> None:
    _, out = RazorpayGateway().validate_config(GOOD, {"checkout_js_url": ""})
    assert "checkout_js_url" not in out
    _, out = RazorpayGateway().validate_config(
        GOOD, {"checkout_js_url": " http://127.0.0.1:9/v1/checkout.js "})
    assert out == {"checkout_js_url": "http://127.0.0.1:9/v1/checkout.js"}


@pytest.mark.parametrize(("settings", "url"), [
    ({}, API_URL), ({"base_url": "http://127.0.0.1:9/"}, "http://127.0.0.1:9"),
])
async def test_the_base_url(settings: dict[str, str], url: str) -> None:
    creds, out = RazorpayGateway().validate_config(
        {**GOOD, "key_id": " rzp_live_1DP5mmOlF5G5ag ", "webhook_secret": ""}, settings)
    assert creds == {"key_id": "rzp_live_1DP5mmOlF5G5ag", "key_secret": "s3cr3t-value"}
    async with httpx.AsyncClient() as http:
        ctx = GatewayContext(mode="live", credentials=creds, settings=out, http=http,
                             public_base_url="http://pay.test")
        assert base_url(ctx) == url


@pytest.mark.parametrize(("minor", "currency", "refused"), [
    (100, "INR", False), (99, "INR", True), (1, "USD", False), (1, "JPY", False),
    (295990, "KWD", False), (295991, "KWD", True), (0, "INR", True), (-5, "INR", True),
    (100, "XOF", True), (100, "BTC", True),
])
def test_amounts(minor: int, currency: str, refused: bool) -> None:
    reason = RazorpayGateway().validate_amount(minor, currency)
    assert (reason is not None) is refused, reason
    if not refused:
        assert from_razorpay_amount(to_razorpay_amount(minor, currency), currency) == minor


def test_only_integers_are_razorpay_amounts() -> None:
    for bad in ("100", 1.0, True, None, -1, "1e3"):
        assert from_razorpay_amount(bad, "INR") is None
    assert from_razorpay_amount(100, "XYZ") is None
