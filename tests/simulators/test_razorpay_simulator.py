"""The Razorpay stand-in follows the published API: Basic auth, the Orders rules (integer
subunits, INR at least 1.00, receipt at most 40 characters, at most 15 notes), Checkout's
signed handler fields, payments (auto-capture or capture), idempotent refunds, signed
webhooks and its Checkout.js."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from tests.simulators.razorpay import KEY_ID, KEY_SECRET, WEBHOOK_SECRET, create_app

ORDER = {"amount": 125050, "currency": "INR", "receipt": "txn_0123456789abcdef",
         "payment_capture": 1, "notes": {"ownpay_transaction_id": "txn_0123456789abcdef"}}


def _client(*, auth: tuple[str, str] = (KEY_ID, KEY_SECRET),
            app: Any = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app or create_app()),
                             base_url="http://razorpay.test", auth=auth)


async def test_refusals() -> None:
    async with _client(auth=(KEY_ID, "wrong")) as c:
        r = await c.post("/v1/orders", json=ORDER)
        assert r.status_code == 401
        assert r.json()["error"]["description"] == "The api key provided is invalid"
    async with _client() as c:
        changes: list[tuple[dict[str, Any], str]] = [
            ({"amount": 99}, "atleast INR 1.00"),
            ({"amount": "10"}, "integer"),
            ({"currency": "XOF"}, "currency"),
            ({"currency": "KWD", "amount": 295991}, "last decimal"),
            ({"receipt": "x" * 41}, "40 characters"),
            ({"notes": {str(i): "v" for i in range(16)}}, "15 keys")]
        for change, said in changes:
            r = await c.post("/v1/orders", json={**ORDER, **change})
            assert r.status_code == 400 and said in r.json()["error"]["description"], change
        assert (await c.post("/v1/orders", json=ORDER)).status_code == 200


async def test_order_pay_signature_payments_refunds() -> None:
    app = create_app()
    sim = app.state.sim
    async with _client(app=app) as c:
        order = (await c.post("/v1/orders", json=ORDER)).json()
        assert order["status"] == "created" and order["id"].startswith("order_")
        assert order["receipt"] == ORDER["receipt"] and order["amount_due"] == 125050
        assert sim.pay(order["id"], "fail") is None
        assert (await c.get(f"/v1/orders/{order['id']}")).json()["status"] == "attempted"
        back = sim.pay(order["id"])
        assert back["razorpay_order_id"] == order["id"]
        message = f"{order['id']}|{back['razorpay_payment_id']}".encode()
        assert back["razorpay_signature"] == hmac.new(
            KEY_SECRET.encode(), message, hashlib.sha256).hexdigest()
        fetched = (await c.get(f"/v1/orders/{order['id']}")).json()
        assert fetched["status"] == "paid" and fetched["amount_paid"] == 125050
        listed = (await c.get(f"/v1/orders/{order['id']}/payments")).json()
        assert [p["status"] for p in listed["items"]] == ["failed", "captured"]
        by_receipt = (await c.get("/v1/orders", params={"receipt": ORDER["receipt"]})).json()
        assert [o["id"] for o in by_receipt["items"]] == [order["id"]]
        payment = (await c.get(f"/v1/payments/{back['razorpay_payment_id']}")).json()
        assert (payment["amount"], payment["currency"], payment["order_id"]) == (
            125050, "INR", order["id"])
        again = await c.post(f"/v1/payments/{payment['id']}/capture",
                             json={"amount": 125050, "currency": "INR"})
        assert again.status_code == 400 and "already been captured" in again.text
        key = {"X-Refund-Idempotency": "ownpay-rf_0001"}
        body = {"amount": 50000, "speed": "normal", "notes": {"ownpay_refund_id": "rf_1"}}
        first = (await c.post(f"/v1/payments/{payment['id']}/refund", json=body,
                              headers=key)).json()
        second = (await c.post(f"/v1/payments/{payment['id']}/refund", json=body,
                               headers=key)).json()
        assert first["id"] == second["id"] and first["status"] == "processed"
        refunds = (await c.get(f"/v1/payments/{payment['id']}/refunds")).json()
        assert refunds["count"] == 1
        over = await c.post(f"/v1/payments/{payment['id']}/refund", json={"amount": 80000})
        assert over.status_code == 400 and "greater than amount captured" in over.text


async def test_without_auto_capture_a_payment_waits_for_its_capture() -> None:
    app = create_app()
    sim = app.state.sim
    async with _client(app=app) as c:
        order = (await c.post("/v1/orders", json={**ORDER, "payment_capture": 0})).json()
        back = sim.pay(order["id"])
        pay_id = back["razorpay_payment_id"]
        assert (await c.get(f"/v1/payments/{pay_id}")).json()["status"] == "authorized"
        assert (await c.get(f"/v1/orders/{order['id']}")).json()["status"] == "attempted"
        short = await c.post(f"/v1/payments/{pay_id}/capture", json={"amount": 100})
        assert short.status_code == 400
        done = await c.post(f"/v1/payments/{pay_id}/capture",
                            json={"amount": 125050, "currency": "INR"})
        assert done.json()["status"] == "captured"
        assert (await c.get(f"/v1/orders/{order['id']}")).json()["status"] == "paid"


async def test_checkout_js_and_its_pay_call() -> None:
    app = create_app()
    sim = app.state.sim
    sim.base_url = "http://razorpay.test"
    async with _client(app=app, auth=("", "")) as c:
        script = await c.get("/v1/checkout.js")  # public, like Razorpay's
        assert script.status_code == 200 and "window.Razorpay" in script.text
        assert '"http://razorpay.test"' in script.text
        order = sim.create_order(dict(ORDER))
        paid = await c.post("/checkout/pay", json={"key": KEY_ID, "order_id": order["id"],
                                                   "choice": "success"})
        assert paid.headers["access-control-allow-origin"] == "*"
        fields = paid.json()
        assert fields["razorpay_order_id"] == order["id"]
        assert sim.order(order["id"]).status == "paid"
        wrong = await c.post("/checkout/pay", json={"key": "rzp_test_other",
                                                    "order_id": order["id"]})
        assert wrong.status_code == 400


async def test_webhooks_are_signed_with_the_webhook_secret() -> None:
    sim = create_app().state.sim
    order = sim.create_order(dict(ORDER))
    back = sim.pay(order["id"])
    headers, body = sim.webhook("order.paid", payment_id=back["razorpay_payment_id"])
    assert headers["X-Razorpay-Signature"] == hmac.new(
        WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    event = json.loads(body)
    assert event["event"] == "order.paid" and event["contains"] == ["order", "payment"]
    assert event["payload"]["order"]["entity"]["status"] == "paid"
    assert event["payload"]["payment"]["entity"]["status"] == "captured"
