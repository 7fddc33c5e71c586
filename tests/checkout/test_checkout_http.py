"""Hosted checkout over HTTP (no browser): flows, CSRF, headers, tampering, 404s."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.checkout import refused
from tests.support.factories import MerchantKeys, create_merchant, intent_body

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def create(client, merchant: MerchantKeys, **overrides) -> dict:
    r = await client.post("/api/v1/payment-intents", json=intent_body(**overrides),
                          headers=merchant.auth())
    assert r.status_code == 201, r.text
    return r.json()


async def open_page(client, txn: str) -> tuple[str, str]:
    r = await client.get(f"/checkout/{txn}")
    assert r.status_code == 200, r.text
    token = CSRF.search(r.text)
    return r.text, token.group(1) if token else ""


async def api_status(client, merchant, txn: str) -> dict:
    return (await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())).json()


async def test_sandbox_success_redirects_to_return_url_with_merged_query(client, merchant) -> None:
    data = await create(client, merchant, return_url="https://shop.example/done?ref=abc&status=old#top",
                        description="Pro plan", amount="1234.5")
    txn = data["transaction_id"]
    html, token = await open_page(client, txn)
    assert "$1,234.50" in html and "Pro plan" in html
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "succeed"})
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert (target.scheme, target.netloc, target.path, target.fragment) == (
        "https", "shop.example", "/done", "top")
    query = parse_qs(target.query)
    assert query["ref"] == ["abc"] and query["transaction_id"] == [txn]
    assert query["status"] == ["completed"]
    got = await api_status(client, merchant, txn)
    assert got["status"] == "completed" and got["paid_at"]
    assert [h["to_status"] for h in got["status_history"]] == ["pending", "completed"]
    # never paid twice: the page now says so and a replayed POST changes nothing
    html, _ = await open_page(client, txn)
    assert "Payment received" in html and 'value="succeed"' not in html
    again = await client.post(f"/checkout/{txn}/pay",
                              data={"csrf_token": token, "outcome": "succeed"})
    assert again.status_code == 303 and again.headers["location"] == f"/checkout/{txn}"
    assert len((await api_status(client, merchant, txn))["status_history"]) == 2


async def test_return_query_has_exactly_our_params(client, merchant) -> None:
    data = await create(client, merchant, order_id="ORD-7", return_url="https://shop.example/r?ref=abc&status=x")
    txn = data["transaction_id"]
    _, token = await open_page(client, txn)
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "succeed"})
    assert parse_qs(urlsplit(r.headers["location"]).query) == {
        "ref": ["abc"], "transaction_id": [txn], "order_id": ["ORD-7"], "status": ["completed"]}


async def test_fail_then_retry_then_succeed(client, merchant) -> None:
    txn = (await create(client, merchant))["transaction_id"]
    _, token = await open_page(client, txn)
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "fail"})
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    page = (await client.get(f"/checkout/{txn}")).text
    assert "Payment failed" in page and "Try again" in page
    assert (await api_status(client, merchant, txn))["status"] == "failed"
    r = await client.post(f"/checkout/{txn}/retry", data={"csrf_token": token})
    assert r.status_code == 303
    assert (await api_status(client, merchant, txn))["status"] == "pending"
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "succeed"})
    assert "status=completed" in r.headers["location"]
    history = [h["to_status"] for h in (await api_status(client, merchant, txn))["status_history"]]
    assert history == ["pending", "failed", "pending", "completed"]


async def test_processing_then_reconciled(client, ctx, merchant) -> None:
    from ownpay.worker import reconcile_processing

    txn = (await create(client, merchant))["transaction_id"]
    _, token = await open_page(client, txn)
    await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "processing"})
    assert (await api_status(client, merchant, txn))["status"] == "processing"
    status = (await client.get(f"/checkout/{txn}/status")).json()
    assert status["status"] == "processing"
    await reconcile_processing(ctx, min_age=0)
    assert (await api_status(client, merchant, txn))["status"] == "completed"
    status = (await client.get(f"/checkout/{txn}/status")).json()
    assert status["return_url"].endswith("status=completed")


async def test_cancel_goes_to_cancel_url_or_return_url(client, merchant) -> None:
    txn = (await create(client, merchant, cancel_url="https://shop.example/cancel"))["transaction_id"]
    _, token = await open_page(client, txn)
    r = await client.post(f"/checkout/{txn}/cancel", data={"csrf_token": token})
    assert r.headers["location"].startswith("https://shop.example/cancel?")
    assert "status=cancelled" in r.headers["location"]
    assert (await api_status(client, merchant, txn))["status"] == "cancelled"
    txn = (await create(client, merchant))["transaction_id"]
    _, token = await open_page(client, txn)
    r = await client.post(f"/checkout/{txn}/cancel", data={"csrf_token": token})
    assert r.headers["location"].startswith("https://shop.example/return?")
    assert "status=cancelled" in r.headers["location"]


async def test_csrf_required_on_every_form(client, merchant) -> None:
    txn = (await create(client, merchant))["transaction_id"]
    _, token = await open_page(client, txn)
    for path, data in [("pay", {"outcome": "succeed"}), ("cancel", {}), ("retry", {})]:
        r = await client.post(f"/checkout/{txn}/{path}", data=data)
        assert r.status_code == 403, path
        r = await client.post(f"/checkout/{txn}/{path}", data={**data, "csrf_token": "0" * 64})
        assert r.status_code == 403, path
    # a token minted for another payment does not work here
    other = (await create(client, merchant))["transaction_id"]
    _, other_token = await open_page(client, other)
    r = await client.post(f"/checkout/{txn}/pay",
                          data={"csrf_token": other_token, "outcome": "succeed"})
    assert r.status_code == 403
    # without the cookie the token is worthless (a cross-site attacker lacks it)
    client.cookies.clear()
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "succeed"})
    assert r.status_code == 403
    assert (await api_status(client, merchant, txn))["status"] == "pending"


async def test_security_headers(client, merchant) -> None:
    txn = (await create(client, merchant, return_url="https://shop.example/r",
                        cancel_url="https://cancel.example/c"))["transaction_id"]
    r = await client.get(f"/checkout/{txn}")
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "base-uri 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert "form-action 'self' https://shop.example https://cancel.example" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert "no-store" in r.headers["cache-control"]
    # every inline script/style carries the nonce
    for tag in re.findall(r"<(?:script|style)[^>]*>", r.text):
        assert f'nonce="{nonce}"' in tag
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_tampered_amount_in_form_is_ignored(client, merchant) -> None:
    txn = (await create(client, merchant, amount="50.00"))["transaction_id"]
    _, token = await open_page(client, txn)
    await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "succeed",
                                                    "amount": "0.01", "currency": "JPY",
                                                    "amount_minor": "1"})
    got = await api_status(client, merchant, txn)
    assert got["status"] == "completed" and got["amount"] == 50 and got["currency"] == "USD"


@pytest.mark.parametrize("path", ["/checkout/txn_0000000000000000", "/checkout/not-an-id",
                                  "/checkout/txn_ABC", "/checkout/%3Cscript%3E"])
async def test_unknown_ids_are_an_uninformative_404(client, path) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert "Payment link not found" in r.text
    assert "txn_" not in r.text.split("<main", 1)[1].split("</main>")[0]
    assert "<script>" not in r.text
    r = await client.post(path + "/pay", data={"outcome": "succeed"})
    assert r.status_code == 404


async def test_expired_link_cannot_be_paid(client, ctx, merchant) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from ownpay.db import utcnow
    from ownpay.payments.models import PaymentIntent

    txn = (await create(client, merchant))["transaction_id"]
    _, token = await open_page(client, txn)
    async with ctx.sessions() as s, s.begin():
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == txn)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "outcome": "succeed"})
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    page = (await client.get(f"/checkout/{txn}")).text
    assert "Payment link expired" in page and 'value="succeed"' not in page
    assert (await api_status(client, merchant, txn))["status"] == "expired"


async def test_manual_flow_with_api_approval(client, ctx, merchant) -> None:
    txn = (await create(client, merchant, gateway="manual", amount="25"))["transaction_id"]
    html, token = await open_page(client, txn)
    assert 'for="f-sender_account"' in html and 'for="f-provider_txn_id"' in html
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token, "sender_account": ""})
    assert "is required" in (await refused(client, r, txn)).text
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token,
                                                        "sender_account": "01700000000",
                                                        "provider_txn_id": "abc123XYZ"})
    assert r.status_code == 303
    got = await api_status(client, merchant, txn)
    assert got["status"] == "awaiting_verification"
    assert got["provider_transaction_id"] == "ABC123XYZ"
    assert "Verifying your payment" in (await client.get(f"/checkout/{txn}")).text
    # the same provider transaction id cannot pay a second payment of this merchant
    txn2 = (await create(client, merchant, gateway="manual", amount="25"))["transaction_id"]
    _, token2 = await open_page(client, txn2)
    r = await client.post(f"/checkout/{txn2}/pay", data={"csrf_token": token2,
                                                         "sender_account": "017",
                                                         "provider_txn_id": "ABC123xyz"})
    assert "already been used" in (await refused(client, r, txn2)).text
    assert (await api_status(client, merchant, txn2))["status"] == "pending"
    # approval needs the admin scope
    from ownpay.merchants import service as merchants

    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        writer = await merchants.create_api_key(s, merchant=m, mode="test",
                                                scopes=("read", "write"))
    r = await client.post(f"/api/v1/payment-intents/{txn}/approve",
                          headers={"Authorization": f"Bearer {writer.api_key}"})
    assert r.status_code == 403
    r = await client.post(f"/api/v1/payment-intents/{txn}/approve",
                          json={"reason": "seen in bank statement"}, headers=merchant.auth())
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert r.json()["status_history"][-1]["reason"] == "seen in bank statement"
    r = await client.post(f"/api/v1/payment-intents/{txn}/reject", headers=merchant.auth())
    assert r.status_code == 409 and r.json()["code"] == "INVALID_STATE"


async def test_manual_reject(client, merchant) -> None:
    txn = (await create(client, merchant, gateway="manual"))["transaction_id"]
    _, token = await open_page(client, txn)
    await client.post(f"/checkout/{txn}/pay",
                      data={"csrf_token": token, "sender_account": "x", "provider_txn_id": "REJ-1"})
    r = await client.post(f"/api/v1/payment-intents/{txn}/reject",
                          json={"reason": "no such transfer"}, headers=merchant.auth())
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert r.json()["failure_reason"] == "no such transfer"


async def test_api_cancel(client, merchant) -> None:
    txn = (await create(client, merchant))["transaction_id"]
    r = await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=merchant.auth())
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=merchant.auth())
    assert r.status_code == 409 and r.json()["code"] == "INVALID_STATE"
    other = await create_merchant(client._transport.app.state.ctx)  # noqa: SLF001
    txn = (await create(client, merchant))["transaction_id"]
    r = await client.post(f"/api/v1/payment-intents/{txn}/cancel", headers=other.auth())
    assert r.status_code == 404


async def test_branding_and_manual_markdown(client, ctx) -> None:
    from ownpay.merchants import service as merchants

    m = await create_merchant(ctx, logo_url="https://cdn.brand.example/logo.png",
                              primary_color="#ffcc00")
    async with ctx.sessions() as s, s.begin():
        row = await merchants.get_merchant(s, m.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=row, mode="test", gateway="manual",
                                       values={"instructions": "Send to **bKash 01700000000** "
                                                               "<script>alert(1)</script> "
                                                               "[x](javascript:alert(1))"})
    ctx.gateway_accounts.invalidate()
    txn = (await create(client, m, gateway="manual"))["transaction_id"]
    r = await client.get(f"/checkout/{txn}")
    assert "<strong>bKash 01700000000</strong>" in r.text
    assert "<script>alert" not in r.text and 'href="javascript:' not in r.text
    assert "--primary:#ffcc00;--on-primary:#000000" in r.text  # dark text on a light brand colour
    assert 'src="https://cdn.brand.example/logo.png"' in r.text
    assert "img-src 'self' data: https://cdn.brand.example" in r.headers["content-security-policy"]


async def test_the_gateway_accounts_display_name_names_the_method(client, ctx) -> None:
    from ownpay.merchants import service as merchants

    m = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        row = await merchants.get_merchant(s, m.slug)
        await merchants.enable_gateway(s, ctx.keyring, merchant=row, mode="test", gateway="manual",
                                       values={"instructions": "Pay at the desk."},
                                       display_name="Bank transfer <City Bank>")
    ctx.gateway_accounts.invalidate()
    txn = (await create(client, m, gateway="manual"))["transaction_id"]
    r = await client.get(f"/checkout/{txn}")
    assert '<h2 id="method-title">Bank transfer &lt;City Bank&gt;</h2>' in r.text
    # A gateway without a named account shows the gateway's own name.
    plain = (await create(client, m, gateway="sandbox"))["transaction_id"]
    r = await client.get(f"/checkout/{plain}")
    assert '<h2 id="method-title">Sandbox (test payments)</h2>' in r.text


async def test_status_json(client, merchant) -> None:
    txn = (await create(client, merchant))["transaction_id"]
    r = await client.get(f"/checkout/{txn}/status")
    assert r.json() == {"transaction_id": txn, "status": "pending",
                        "expires_at": r.json()["expires_at"]}
    assert (await client.get("/checkout/txn_0000000000000000/status")).status_code == 404


# ---- redirect after a refused form ---------------------------------------------------------


async def test_a_refused_form_redirects_and_a_refresh_never_posts_again(client, merchant) -> None:
    txn = (await create(client, merchant, gateway="manual"))["transaction_id"]
    _, token = await open_page(client, txn)
    r = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token, "sender_account": '01712"><script>x()</script>',
        "provider_txn_id": ""})
    # 303 to the page itself (a GET): what the customer typed travels in a flash cookie
    assert r.status_code == 303 and r.headers["location"] == f"/checkout/{txn}"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("op_flash="))
    assert f"Path=/checkout/{txn}" in cookie and "HttpOnly" in cookie and "Max-Age=300" in cookie
    assert "01712" not in cookie  # encoded, never a readable cookie value
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert "Transaction ID from your payment provider is required." in page.text
    assert "<title>Error: Pay" in page.text
    assert 'value="01712&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"' in page.text
    assert "<script>x()" not in page.text
    # shown once: the page deletes it, so a refresh is a clean form and posts nothing
    assert any(c.startswith('op_flash=""') and "Max-Age=0" in c
               for c in page.headers.get_list("set-cookie"))
    assert "op_flash" not in client.cookies
    again = await client.get(f"/checkout/{txn}")
    assert "is required" not in again.text and 'value="01712' not in again.text
    # CSRF still works on the redirected page: correcting the form goes through
    token = CSRF.search(page.text).group(1)
    r = await client.post(f"/checkout/{txn}/pay", data={
        "csrf_token": token, "sender_account": "01712", "provider_txn_id": "PRG-1"})
    assert r.status_code == 303
    assert (await api_status(client, merchant, txn))["status"] == "awaiting_verification"


async def test_a_flash_is_for_its_payment_and_browser_and_cannot_be_forged(
    client, merchant
) -> None:
    txn = (await create(client, merchant, gateway="manual"))["transaction_id"]
    other = (await create(client, merchant, gateway="manual"))["transaction_id"]
    _, token = await open_page(client, txn)
    r = await client.post(f"/checkout/{txn}/pay", data={"csrf_token": token})
    flash_value = client.cookies.get("op_flash", path=f"/checkout/{txn}")
    assert flash_value
    body, _, mac = flash_value.partition(".")
    # for another payment: not shown there
    client.cookies.set("op_flash", flash_value, path=f"/checkout/{other}")
    assert "is required" not in (await client.get(f"/checkout/{other}")).text
    # altered: ignored
    client.cookies.set("op_flash", body[:-2] + "AA." + mac, path=f"/checkout/{txn}")
    assert "is required" not in (await client.get(f"/checkout/{txn}")).text
    # in another browser (another CSRF cookie): ignored
    csrf_cookie = client.cookies.get("op_csrf")
    client.cookies.set("op_flash", flash_value, path=f"/checkout/{txn}")
    client.cookies.set("op_csrf", "f" * 32)
    assert "is required" not in (await client.get(f"/checkout/{txn}")).text
    client.cookies.set("op_csrf", csrf_cookie)
    client.cookies.set("op_flash", flash_value, path=f"/checkout/{txn}")
    assert "is required" in (await client.get(f"/checkout/{txn}")).text
    assert r.status_code == 303


def test_a_flash_expires_and_drops_values_before_errors_when_too_large() -> None:
    from starlette.requests import Request
    from starlette.responses import Response

    from ownpay.security import Keyring
    from ownpay.web.pages import flash

    keyring = Keyring.from_master(b"k" * 32)
    response = Response()
    big = {f"f{i}": "x" * 190 for i in range(20)}
    flash.put(response, keyring, flash.Flash(errors={"f0": ["Too long."]}, values=big),
              scope="s", path="/", https=False, now=1000.0)
    raw = response.headers["set-cookie"].split(";", 1)[0].removeprefix("op_flash=")
    request = Request({"type": "http", "headers": [(b"cookie", f"op_flash={raw}".encode())]})
    got = flash.take(request, keyring, scope="s", now=1200.0)
    assert got is not None and got.errors == {"f0": ["Too long."]} and got.values == {}
    assert flash.take(request, keyring, scope="s", now=1000.0 + flash.MAX_AGE + 1) is None
    assert flash.take(request, keyring, scope="t", now=1200.0) is None
