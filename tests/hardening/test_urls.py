"""Findings 4 and 7 of issue 16: URLs from merchants are parsed once, strictly, and kept in
a form every header and browser reads the same way."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from ownpay.errors import ValidationFailed
from ownpay.merchants import service as merchants
from ownpay.merchants.models import Merchant
from ownpay.urls import BadUrl, normalize_http_url
from tests.support.factories import MerchantKeys, create_merchant, intent_body

INTENTS = "/api/v1/payment-intents"


@pytest.mark.parametrize(("given", "kept"), [
    ("https://例え.jp/", "https://xn--r8jz45g.jp/"),
    ("https://BÜCHER.example/kasse?x=ä", "https://xn--bcher-kva.example/kasse?x=%C3%A4"),
    ("https://shop.example:8443/ok", "https://shop.example:8443/ok"),
    ("http://192.0.2.4/r", "http://192.0.2.4/r"),
    ("https://[2001:db8::1]:8080/r", "https://[2001:db8::1]:8080/r"),
    ("https://yoursite.com/order/success", "https://yoursite.com/order/success"),
])
def test_urls_are_kept_with_an_ascii_host(given: str, kept: str) -> None:
    assert normalize_http_url(given) == kept


@pytest.mark.parametrize("bad", [
    "https://shop.example:abc/", "https://shop.example:99999/", "https://shop.example:0/",
    "https://shop.example\\@evil.example/", "https://user:pw@shop.example/",
    "https://shop.example@evil.example/", "javascript:alert(1)", "//shop.example/",
    "https://sh op.example/", "https://shop.example/\x00", "https://-bad-.example/",
    "https://1.2.3/", "ftp://shop.example/", "https://[::1/",
])
def test_urls_browsers_and_python_could_read_differently_are_refused(bad: str) -> None:
    with pytest.raises(BadUrl):
        normalize_http_url(bad)


async def test_an_international_return_url_makes_a_working_checkout(
    client, merchant: MerchantKeys
) -> None:
    r = await client.post(INTENTS, json=intent_body(return_url="https://例え.jp/fertig"),
                          headers=merchant.auth())
    assert r.status_code == 201, r.text
    txn = r.json()["transaction_id"]
    got = await client.get(f"{INTENTS}/{txn}", headers=merchant.auth())
    assert got.json()["return_url"] == "https://xn--r8jz45g.jp/fertig"
    page = await client.get(f"/checkout/{txn}")
    assert page.status_code == 200
    assert "https://xn--r8jz45g.jp" in page.headers["content-security-policy"]


@pytest.mark.parametrize("bad", ["https://shop.example:abc/", "https://a.example\\@b.example/"])
async def test_a_bad_return_url_is_a_validation_error(client, merchant: MerchantKeys,
                                                      bad: str) -> None:
    r = await client.post(INTENTS, json=intent_body(return_url=bad), headers=merchant.auth())
    assert r.status_code == 400
    assert r.json()["errors"]["return_url"][0].startswith(
        "The return url must be an absolute http(s) URL.")


@pytest.mark.parametrize("logo", [
    "https://cdn.example/logo.png; frame-ancestors *",
    "https://cdn.example;frame-ancestors*/logo.png",
    "https://cdn.example/logo.png\r\nX-Injected: 1",
])
async def test_a_logo_url_cannot_carry_csp_directives(ctx, logo: str) -> None:
    async with ctx.sessions() as s, s.begin():
        with pytest.raises(ValidationFailed) as refused:
            await merchants.create_merchant(s, slug="logo-test-shop", name="Shop", logo_url=logo)
    assert "logo_url" in (refused.value.errors or {})


async def test_a_stored_hostile_logo_url_never_reaches_the_header(client, ctx) -> None:
    """A value stored before validation was strict is re-serialised at the header too."""
    m = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(Merchant).where(Merchant.id == m.id).values(
            logo_url="https://cdn.example;frame-ancestors *;script-src *"))
    r = await client.post(INTENTS, json=intent_body(), headers=m.auth())
    page = await client.get(f"/checkout/{r.json()['transaction_id']}")
    csp = page.headers["content-security-policy"]
    assert csp.count("frame-ancestors") == 1 and "frame-ancestors 'none'" in csp
    assert "script-src *" not in csp
