"""The checkout in the brand's language, and in the customer's choice: Bangla strings and
Bengali-digit amounts for a ``bn`` brand, the switch (``?lang=``) remembered by the
``op_lang`` cookie, an unknown ``lang`` ignored, Bengali digits typed into a form read as
0-9, and the brand's setting through the service and the CLI (English stays the default:
every other checkout test reads English)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from ownpay import i18n
from ownpay.errors import ValidationFailed
from ownpay.merchants import service as merchants
from ownpay.web.pages import language
from tests.support.checkout import checkout, new_intent, refused
from tests.support.commands import app_env, in_process
from tests.support.factories import create_merchant
from tests.support.personal_wallets import SAMPLES, enable

pytestmark = pytest.mark.api
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission" value="([^"]+)"')
BENGALI = re.compile("[০-৯]")


def to_bengali(text: str) -> str:
    return text.translate(str.maketrans("0123456789", i18n.BENGALI_DIGITS))


async def bangla_shop(ctx: Any, **fields: Any) -> Any:
    return await create_merchant(ctx, checkout_language="bn", name="Dhaka Books", **fields)


async def test_a_bangla_brand_speaks_bangla_with_bengali_digits(client, ctx) -> None:
    shop = await bangla_shop(ctx)
    txn = await new_intent(client, shop, currency="BDT", amount="1250.50", order_id="ORD-42")
    page = await client.get(f"/checkout/{txn}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="bn">' in html
    assert "প্রাপক" in html and "অর্ডার" in html and "লিংকের মেয়াদ শেষ হবে" in html
    assert "৳১,২৫০.৫০" in html and "1,250.50" not in html
    assert "নিরাপদ চেকআউট" in html and "Secure checkout" not in html
    assert "টেস্ট মোড — আসল পেমেন্ট নয়" in html
    assert "%(" not in html  # every placeholder filled
    # The expiry, without JavaScript, in Bengali digits; the order id as the merchant wrote it.
    expires = re.search(r'<time id="expires"[^>]*>(.*?)</time>', html, re.S)
    assert expires and BENGALI.search(expires.group(1)) and "UTC" in expires.group(1)
    assert "ORD-42" in html
    # checkout.js gets its words and locale by data- attributes
    assert 'data-locale="bn-BD"' in html and 'data-left="{time} বাকি"' in html
    # the switch offers English, on this same page
    assert f'href="/checkout/{txn}?lang=en"' in html and ">English</a>" in html
    assert language.COOKIE not in page.headers.get("set-cookie", "")


async def test_the_switch_to_english_persists_by_cookie(client, ctx) -> None:
    shop = await bangla_shop(ctx)
    txn = await new_intent(client, shop, currency="BDT", amount="1250.50")
    english = await client.get(f"/checkout/{txn}?lang=en")
    assert english.status_code == 200
    assert '<html lang="en">' in english.text and "Pay to" in english.text
    assert "1,250.50" in english.text and "প্রাপক" not in english.text
    cookie = next(c for c in english.headers.get_list("set-cookie") if c.startswith("op_lang="))
    assert cookie.startswith("op_lang=en;") and "SameSite=lax" in cookie
    assert "HttpOnly" not in cookie and "Secure" not in cookie  # http://pay.test
    assert f'href="/checkout/{txn}?lang=bn"' in english.text and ">বাংলা</a>" in english.text
    # The same page again, without the query: still English (the cookie), nothing re-set.
    again = await client.get(f"/checkout/{txn}")
    assert '<html lang="en">' in again.text and "Pay to" in again.text
    assert "op_lang" not in again.headers.get("set-cookie", "")
    # Its other pages too (the brand's 404 included), until the customer switches back.
    missing = await client.get("/checkout/txn_00000000000000000000")
    assert missing.status_code == 404 and "Payment link not found" in missing.text
    back = await client.get(f"/checkout/{txn}?lang=bn")
    assert '<html lang="bn">' in back.text
    assert any(c.startswith("op_lang=bn;") for c in back.headers.get_list("set-cookie"))
    missing = await client.get("/checkout/txn_00000000000000000000")
    assert '<html lang="bn">' in missing.text and "পেমেন্ট লিংক পাওয়া যায়নি" in missing.text


@pytest.mark.parametrize("asked", ["xx", "", "BN", "bn-BD", "en;drop", "%00"])
async def test_an_unknown_lang_is_the_brand_default_and_no_error(client, ctx,
                                                                  asked: str) -> None:
    shop = await bangla_shop(ctx)
    txn = await new_intent(client, shop, currency="BDT", amount="10")
    page = await client.get(f"/checkout/{txn}", params={"lang": asked})
    assert page.status_code == 200
    assert '<html lang="bn">' in page.text and "প্রাপক" in page.text
    assert "op_lang" not in page.headers.get("set-cookie", "")
    # a forged cookie is ignored the same way
    client.cookies.set("op_lang", "fr")
    page = await client.get(f"/checkout/{txn}")
    assert '<html lang="bn">' in page.text


async def test_an_english_brand_switches_to_bangla_on_request(client, merchant) -> None:
    txn = await new_intent(client, merchant, currency="USD", amount="1234.5")
    html = (await client.get(f"/checkout/{txn}")).text
    assert '<html lang="en">' in html and "$1,234.50" in html and ">বাংলা</a>" in html
    bn = (await client.get(f"/checkout/{txn}?lang=bn")).text
    assert '<html lang="bn">' in bn and "$১,২৩৪.৫০" in bn
    assert "%(amount)s পরিশোধ করুন (সফল)".replace("%(amount)s", "$১,২৩৪.৫০") in bn


async def test_outcomes_and_notices_in_bangla(client, ctx) -> None:
    shop = await bangla_shop(ctx)
    txn = await new_intent(client, shop, currency="BDT", amount="99")
    r = await checkout(client, txn, outcome="fail")
    assert r.status_code == 303
    page = (await client.get(f"/checkout/{txn}")).text
    assert "পেমেন্ট ব্যর্থ হয়েছে" in page  # Payment failed
    what = re.search(r'data-testid="outcome-what">([^<]*)<', page)
    assert what and what.group(1) == "পেমেন্টটি প্রত্যাখ্যাত হয়েছে।", page  # declined
    assert "কোনো টাকা কাটা হয়নি।" in page  # No money was taken.
    assert "আবার চেষ্টা করুন" in page
    # An expired session (no CSRF cookie): the notice in Bangla too.
    client.cookies.clear()
    forbidden = await client.post(f"/checkout/{txn}/retry", data={"csrf_token": "x"})
    assert forbidden.status_code == 403
    assert "আপনার সেশনের মেয়াদ শেষ" in forbidden.text


async def test_bengali_digits_in_the_wallet_form_are_read_as_ascii(client, ctx) -> None:
    shop = await bangla_shop(ctx, gateways=())
    await enable(ctx, shop, "bkash_personal")
    sender, _other, trx = SAMPLES["bkash_personal"]
    txn = await new_intent(client, shop, gateway="bkash_personal", currency="BDT",
                           amount="1250.50")
    page = (await client.get(f"/checkout/{txn}")).text
    assert "bKash দিয়ে ৳১,২৫০.৫০ পরিশোধ করুন" in page
    assert "যে bKash নম্বর থেকে টাকা পাঠিয়েছেন" in page and "ট্রানজেকশন আইডি (TrxID)" in page
    assert "Send Money বেছে নিন" in page  # the app's own menu name, as the app shows it
    token = CSRF.search(page)
    assert token
    bad = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token.group(1), "sender_number": "১২", "trx_id": "no!"})
    told = (await refused(client, bad, txn)).text
    assert "যে bKash নম্বর থেকে টাকা পাঠিয়েছেন সেটি লিখুন: 01 দিয়ে শুরু ১১ অঙ্কের নম্বর।" in told
    assert "bKash যেভাবে দেখায় ঠিক সেভাবে ট্রানজেকশন আইডি লিখুন" in told
    ok = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token.group(1), "sender_number": to_bengali(sender), "trx_id": trx})
    assert ok.status_code == 303, ok.text
    got = (await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())).json()
    assert got["status"] == "awaiting_verification"
    assert got["provider_transaction_id"] == trx


async def test_a_payment_link_in_bangla_takes_a_bengali_digit_amount(client, ctx) -> None:
    shop = await bangla_shop(ctx)
    made = await client.post("/api/v1/payment-links", headers=shop.auth(), json={
        "title": "Eid gift box", "currency": "BDT", "min_amount": "100",
        "max_amount": "5000"})
    assert made.status_code == 201, made.text
    slug = made.json()["slug"]
    page = await client.get(f"/pay/{slug}")
    assert page.status_code == 200
    assert '<html lang="bn">' in page.text and "টাকার পরিমাণ (BDT)" in page.text
    assert "আপনার নাম" in page.text and "(ঐচ্ছিক)" in page.text
    token, submission = CSRF.search(page.text), SUBMISSION.search(page.text)
    assert token and submission
    form = {"csrf_token": token.group(1), "submission": submission.group(1),
            "customer_name": "Rahim Uddin", "customer_email": "rahim@example.com",
            "gateway": "sandbox"}
    low = await client.post(f"/pay/{slug}", data={**form, "amount": "৫০"})
    assert low.status_code == 400
    assert "-এর মধ্যে একটি পরিমাণ লিখুন।" in low.text, low.text
    paid = await client.post(f"/pay/{slug}", data={**form, "amount": "১,২৫০.৫০",
                                                    "customer_phone": "০১৭১২৩৪৫৬৭৮"})
    assert paid.status_code == 303, paid.text
    txn = paid.headers["location"].rsplit("/", 1)[-1]
    got = (await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())).json()
    assert str(got["amount"]) in ("1250.50", "1250.5"), got


async def test_the_brand_setting_is_checked_and_the_cli_sets_it(ctx) -> None:
    shop = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        row = await merchants.get_merchant(s, shop.slug)
        assert row.checkout_language == "en"  # every brand's default
        with pytest.raises(ValidationFailed) as refused_:
            await merchants.update_merchant(s, row, changes={"checkout_language": "fr"})
        assert "checkout_language" in refused_.value.errors
    done = await asyncio.to_thread(in_process, app_env(ctx), "merchants", "update", shop.slug,
                                   "--checkout-language", "bn", "--json")
    assert done.exit_code == 0, done.stderr
    assert '"checkout_language": "bn"' in done.stdout
    async with ctx.sessions() as s:
        assert (await merchants.get_merchant(s, shop.slug)).checkout_language == "bn"
    bad = await asyncio.to_thread(in_process, app_env(ctx), "merchants", "update", shop.slug,
                                  "--checkout-language", "fr")
    assert bad.exit_code != 0 and "checkout_language" in (bad.stderr + bad.stdout)


def _request(query: str = "", cookie: str = "") -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/checkout/x", "headers": headers,
                    "query_string": query.encode(), "state": {}})


def test_the_choice_and_its_cookie() -> None:
    assert language.choose(_request(), "bn") == ("bn", False)
    assert language.choose(_request(), None) == ("en", False)
    assert language.choose(_request("lang=en"), "bn") == ("en", True)
    assert language.choose(_request(cookie="op_lang=en"), "bn") == ("en", False)
    assert language.choose(_request("lang=zz", "op_lang=bn"), "en") == ("bn", False)
    request = _request("lang=bn")
    language.activate(request, "en")
    response = Response()
    language.remember(request, response, https=True)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("op_lang=bn;") and "Secure" in cookie and "SameSite=lax" in cookie
    i18n.activate("en")


def test_digits_and_amounts_per_language() -> None:
    assert i18n.ascii_digits("০১৭১২-৩৪৫৬৭৮ TrxID") == "01712-345678 TrxID"
    i18n.activate("bn")
    try:
        assert i18n.amount(125050, "BDT") == "৳১,২৫০.৫০"
        assert i18n.amount(500, "JPY") == "JP¥৫০০"  # no decimals, as for en
    finally:
        i18n.activate("en")
    assert i18n.amount(125050, "BDT") == "BDT\u00a01,250.50"
    assert i18n.gettext("Pay to") == "Pay to"


async def test_a_request_language_does_not_outlive_the_request(client, ctx) -> None:
    """The in-process client runs the app in this test's own context: after a Bangla page,
    this context (and so the API, the CLI, the dashboard) is English again."""
    shop = await bangla_shop(ctx)
    txn = await new_intent(client, shop, currency="BDT", amount="10")
    assert '<html lang="bn">' in (await client.get(f"/checkout/{txn}")).text
    assert i18n.current() == "en"
    assert i18n.gettext("Pay to") == "Pay to"
