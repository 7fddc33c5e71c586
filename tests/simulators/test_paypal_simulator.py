"""The PayPal stand-in follows the published API: client-credentials tokens, Bearer auth,
the Orders v2 rules (one purchase unit, decimal-string amounts, no decimals for HUF, JPY
and TWD), the approve page and its redirects, capture only after approval, PayPal-Request-Id
replays, refunds on the capture, and webhook verification of what it signed only."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.simulators.paypal import (
    CLIENT_ID,
    CLIENT_SECRET,
    WEBHOOK_ID,
    PayPalSimulator,
    create_app,
)

ORDER: dict[str, Any] = {
    "intent": "CAPTURE",
    "purchase_units": [{"custom_id": "txn_0123456789abcdef",
                        "invoice_id": "txn_0123456789abcdef", "description": "Order 1",
                        "amount": {"currency_code": "USD", "value": "49.95"}}],
    "payment_source": {"paypal": {"experience_context": {
        "return_url": "http://pay.test/back", "cancel_url": "http://pay.test/back?cancelled=1",
    }}},
}


def _app() -> Any:
    return create_app(PayPalSimulator("http://paypal.test"))


def _raw(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://paypal.test")


async def _login(client: httpx.AsyncClient) -> None:
    token = await client.post("/v1/oauth2/token", data={"grant_type": "client_credentials"},
                              auth=(CLIENT_ID, CLIENT_SECRET))
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    client.headers["Authorization"] = f"Bearer {body['access_token']}"


def _with_amount(currency: str, value: str) -> dict[str, Any]:
    unit = {**ORDER["purchase_units"][0], "amount": {"currency_code": currency,
                                                     "value": value}}
    return {**ORDER, "purchase_units": [unit]}


async def test_tokens_and_auth() -> None:
    app = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://paypal.test") as c:
        bad = await c.post("/v1/oauth2/token", data={"grant_type": "client_credentials"},
                           auth=(CLIENT_ID, "wrong"))
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        grant = await c.post("/v1/oauth2/token", data={"grant_type": "password"},
                             auth=(CLIENT_ID, CLIENT_SECRET))
        assert grant.status_code == 400
        anon = await c.post("/v2/checkout/orders", json=ORDER)
        assert anon.status_code == 401


async def test_order_rules() -> None:
    async with _raw(_app()) as c:
        await _login(c)
        cases = [(_with_amount("HUF", "12.50"), "DECIMAL_PRECISION"),
                 (_with_amount("JPY", "100.5"), "DECIMAL_PRECISION"),
                 (_with_amount("USD", "1.001"), "DECIMAL_PRECISION"),
                 (_with_amount("BDT", "10.00"), "CURRENCY_NOT_SUPPORTED"),
                 (_with_amount("USD", "0.00"), "CANNOT_BE_ZERO_OR_NEGATIVE")]
        for body, issue in cases:
            r = await c.post("/v2/checkout/orders", json=body)
            assert r.status_code == 422, r.text
            assert r.json()["name"] == "UNPROCESSABLE_ENTITY"
            assert r.json()["details"][0]["issue"] == issue
        assert (await c.post("/v2/checkout/orders", json=_with_amount("HUF", "12"))
                ).status_code == 201
        two = {**ORDER, "purchase_units": ORDER["purchase_units"] * 2}
        assert (await c.post("/v2/checkout/orders", json=two)).status_code == 400


async def test_approve_capture_replay_and_refund() -> None:
    app = _app()
    sim: PayPalSimulator = app.state.sim
    async with _raw(app) as c:
        await _login(c)
        made = await c.post("/v2/checkout/orders", json=ORDER,
                            headers={"PayPal-Request-Id": "order-1"})
        order = made.json()
        assert made.status_code == 201 and order["status"] == "CREATED"
        replay = await c.post("/v2/checkout/orders", json=ORDER,
                              headers={"PayPal-Request-Id": "order-1"})
        assert replay.json()["id"] == order["id"] and len(sim.orders) == 1
        (link,) = [x for x in order["links"] if x["rel"] == "payer-action"]
        early = await c.post(f"/v2/checkout/orders/{order['id']}/capture")
        assert early.status_code == 422
        assert early.json()["details"][0]["issue"] == "ORDER_NOT_APPROVED"
        page = await c.get(urlsplit(link["href"]).path + "?" + urlsplit(link["href"]).query)
        assert "USD 49.95" in page.text and "Pay now" in page.text
        back = await c.post(f"/checkoutnow/{order['id']}", data={"choice": "approve"})
        assert back.status_code == 303
        query = dict(parse_qsl(urlsplit(back.headers["location"]).query))
        assert query["token"] == order["id"] and query["PayerID"]
        got = (await c.get(f"/v2/checkout/orders/{order['id']}")).json()
        assert got["status"] == "APPROVED"
        key = {"PayPal-Request-Id": "cap-1"}
        captured = await c.post(f"/v2/checkout/orders/{order['id']}/capture", headers=key)
        assert captured.status_code == 201
        cap = captured.json()["purchase_units"][0]["payments"]["captures"][0]
        assert cap["status"] == "COMPLETED" and cap["custom_id"] == "txn_0123456789abcdef"
        assert cap["amount"] == {"currency_code": "USD", "value": "49.95"}
        again = await c.post(f"/v2/checkout/orders/{order['id']}/capture", headers=key)
        assert again.json()["purchase_units"][0]["payments"]["captures"][0]["id"] == cap["id"]
        other = await c.post(f"/v2/checkout/orders/{order['id']}/capture")
        assert other.json()["details"][0]["issue"] == "ORDER_ALREADY_CAPTURED"
        refund = {"amount": {"currency_code": "USD", "value": "10.00"}, "invoice_id": "rf_1"}
        r1 = await c.post(f"/v2/payments/captures/{cap['id']}/refund", json=refund,
                          headers={"PayPal-Request-Id": "rf-1"})
        assert r1.status_code == 201 and r1.json()["status"] == "COMPLETED"
        r1b = await c.post(f"/v2/payments/captures/{cap['id']}/refund", json=refund,
                           headers={"PayPal-Request-Id": "rf-1"})
        assert r1b.json()["id"] == r1.json()["id"] and sim.refunded(cap["id"]) == 1000
        too_much = {"amount": {"currency_code": "USD", "value": "40.00"}}
        r2 = await c.post(f"/v2/payments/captures/{cap['id']}/refund", json=too_much)
        assert r2.json()["details"][0]["issue"] == "REFUND_AMOUNT_EXCEEDED"
        fetched = await c.get(f"/v2/payments/refunds/{r1.json()['id']}")
        assert fetched.json()["invoice_id"] == "rf_1"
        listed = (await c.get(f"/v2/checkout/orders/{order['id']}")).json()
        assert listed["purchase_units"][0]["payments"]["refunds"][0]["id"] == r1.json()["id"]
        cancel = await c.post("/v2/checkout/orders", json=ORDER)
        gone = await c.post(f"/checkoutnow/{cancel.json()['id']}", data={"choice": "cancel"})
        assert "cancelled=1" in gone.headers["location"]


async def test_webhook_verification_answers_success_only_for_what_it_signed() -> None:
    app = _app()
    sim: PayPalSimulator = app.state.sim
    async with _raw(app) as c:
        await _login(c)
        order = (await c.post("/v2/checkout/orders", json=ORDER)).json()
        headers, body = sim.order_event(order["id"])

        def request(h: dict[str, str], event: Any, webhook_id: str = WEBHOOK_ID
                    ) -> dict[str, Any]:
            return {"auth_algo": h["PAYPAL-AUTH-ALGO"], "cert_url": h["PAYPAL-CERT-URL"],
                    "transmission_id": h["PAYPAL-TRANSMISSION-ID"],
                    "transmission_sig": h["PAYPAL-TRANSMISSION-SIG"],
                    "transmission_time": h["PAYPAL-TRANSMISSION-TIME"],
                    "webhook_id": webhook_id, "webhook_event": event}

        url = "/v1/notifications/verify-webhook-signature"
        event = json.loads(body)
        ok = await c.post(url, json=request(headers, event))
        assert ok.json() == {"verification_status": "SUCCESS"}
        altered = {**event, "summary": "changed"}
        for bad in (request(headers, altered), request(headers, event, "OTHERID"),
                    request({**headers, "PAYPAL-TRANSMISSION-SIG": "AAAA"}, event),
                    request({**headers, "PAYPAL-TRANSMISSION-ID": "unknown"}, event)):
            r = await c.post(url, json=bad)
            assert r.json() == {"verification_status": "FAILURE"}
