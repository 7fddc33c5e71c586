"""The Razorpay stand-in follows the published API: Basic auth, the Payment Link rules
(integer subunits, INR at least 1.00, unique reference_id, callback_method get), the hosted
page, the signed callback, payments, idempotent refunds and signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.simulators.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, create_app

LINK = {"amount": 125050, "currency": "INR", "accept_partial": False,
        "reference_id": "txn_0123456789abcdef", "description": "Order 1",
        "customer": {"name": "Gaurav Kumar", "email": "g@example.com"},
        "callback_url": "http://pay.test/back", "callback_method": "get"}


def _client(*, auth: tuple[str, str] = (KEY_ID, KEY_SECRET)) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()),
                             base_url="http://razorpay.test", auth=auth)


async def test_refusals() -> None:
    async with _client(auth=(KEY_ID, "wrong")) as c:
        r = await c.post("/v1/payment_links", json=LINK)
        assert r.status_code == 401
        assert r.json()["error"]["description"] == "The api key provided is invalid"
    async with _client() as c:
        changes: list[tuple[dict[str, Any], str]] = [
            ({"amount": 99}, "atleast INR 1.00"),
            ({"amount": "10"}, "integer"),
            ({"currency": "XOF"}, "currency"),
            ({"callback_method": "post"}, "callback_method"),
            ({"reference_id": "x" * 41}, "40 characters")]
        for change, said in changes:
            r = await c.post("/v1/payment_links", json={**LINK, **change})
            assert r.status_code == 400 and said in r.json()["error"]["description"], change
        assert (await c.post("/v1/payment_links", json=LINK)).status_code == 200
        again = await c.post("/v1/payment_links", json=LINK)
        assert again.status_code == 400 and "already exists" in again.text


async def test_pay_callback_payment_refunds() -> None:
    async with _client() as c:
        link = (await c.post("/v1/payment_links", json=LINK)).json()
        assert link["status"] == "created" and link["id"].startswith("plink_")
        short = urlsplit(link["short_url"]).path
        page = await c.get(short)
        assert "INR 1,250.50" in page.text
        paid = await c.post(f"{short}/pay", data={"choice": "success"})
        assert paid.status_code == 303
        back = dict(parse_qsl(urlsplit(paid.headers["location"]).query))
        message = "|".join([back["razorpay_payment_link_id"],
                            back["razorpay_payment_link_reference_id"],
                            back["razorpay_payment_link_status"], back["razorpay_payment_id"]])
        assert back["razorpay_signature"] == hmac.new(
            KEY_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
        fetched = (await c.get(f"/v1/payment_links/{link['id']}")).json()
        assert fetched["status"] == "paid" and fetched["payments"][0]["status"] == "captured"
        payment = (await c.get(f"/v1/payments/{back['razorpay_payment_id']}")).json()
        assert (payment["amount"], payment["currency"], payment["order_id"]) == (
            125050, "INR", fetched["order_id"])
        key = {"X-Refund-Idempotency": "ownpay-rf_0001"}
        body = {"amount": 50000, "speed": "normal", "notes": {"ownpay_refund_id": "rf_1"}}
        first = (await c.post(f"/v1/payments/{payment['id']}/refund", json=body,
                              headers=key)).json()
        second = (await c.post(f"/v1/payments/{payment['id']}/refund", json=body,
                               headers=key)).json()
        assert first["id"] == second["id"] and first["status"] == "processed"
        listed = (await c.get(f"/v1/payments/{payment['id']}/refunds")).json()
        assert listed["count"] == 1
        over = await c.post(f"/v1/payments/{payment['id']}/refund", json={"amount": 80000})
        assert over.status_code == 400 and "greater than amount captured" in over.text
        cancel = await c.post(f"/v1/payment_links/{link['id']}/cancel")
        assert cancel.status_code == 400  # a paid link cannot be cancelled


async def test_webhooks_are_signed_with_the_webhook_secret() -> None:
    app = create_app()
    sim = app.state.sim
    sim.base_url = "http://razorpay.test"
    link = sim.create_link(dict(LINK))
    sim.pay(link["id"])
    headers, body = sim.webhook(link["id"])
    assert headers["X-Razorpay-Signature"] == hmac.new(
        WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    event = json.loads(body)
    assert event["event"] == "payment_link.paid"
    assert event["payload"]["payment_link"]["entity"]["status"] == "paid"
    assert event["payload"]["payment"]["entity"]["status"] == "captured"
