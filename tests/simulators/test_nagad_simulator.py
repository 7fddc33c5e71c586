"""The Nagad stand-in follows the published API: signed and encrypted requests and
answers, Nagad's refusals, the hosted page's redirect back, verify and purchase/cancel."""

from __future__ import annotations

import base64
import json

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.simulators.nagad import (
    MERCHANT_ID,
    MERCHANT_KEY,
    MERCHANT_NUMBER,
    NAGAD_KEY,
    create_app,
    seal_for,
)

HEADERS = {"X-KM-Api-Version": "v-0.2.0", "X-KM-IP-V4": "127.0.0.1",
           "X-KM-Client-Type": "PC_WEB"}


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()),
                             base_url="http://nagad.test", headers=HEADERS)


def _to_nagad(inner: dict[str, str]) -> dict[str, str]:
    return seal_for(NAGAD_KEY.public_key(), MERCHANT_KEY, inner)


def _open(answer: dict[str, str]) -> dict[str, str]:
    text = MERCHANT_KEY.decrypt(base64.b64decode(answer["sensitiveData"]), padding.PKCS1v15())
    NAGAD_KEY.public_key().verify(base64.b64decode(answer["signature"]), text,
                                  padding.PKCS1v15(), hashes.SHA256())
    opened: dict[str, str] = json.loads(text)
    return opened


async def _initialize(c: httpx.AsyncClient, order: str) -> httpx.Response:
    inner = {"merchantId": MERCHANT_ID, "datetime": "20261202180000", "orderId": order,
             "challenge": "c" * 40}
    sealed = _to_nagad(inner)
    return await c.post(f"/api/dfs/check-out/initialize/{MERCHANT_ID}/{order}", json={
        "accountNumber": MERCHANT_NUMBER, "dateTime": "20261202180000",
        "sensitiveData": sealed["sensitiveData"], "signature": sealed["signature"]})


async def test_refusals() -> None:
    async with _client() as c:
        no_headers = await c.post(f"/api/dfs/check-out/initialize/{MERCHANT_ID}/A1",
                                  json={}, headers={"X-KM-Api-Version": ""})
        assert no_headers.json()["reason"] == "InvalidApiRequest"
        assert (await _initialize(c, "A1")).status_code == 200
        again = await _initialize(c, "A1")
        assert (again.status_code, again.json()["reason"]) == (400, "DuplicateOrderId")
        forged = await c.post(f"/api/dfs/check-out/initialize/{MERCHANT_ID}/A2", json={
            "accountNumber": MERCHANT_NUMBER, "dateTime": "20261202180000",
            "sensitiveData": "eA==", "signature": "eA=="})
        assert forged.json()["reason"] == "SignatureVerificationFailed"
        unknown = await c.get("/api/dfs/verify/payment/nope")
        assert unknown.json() == {"reason": "InvalidReferenceId",
                                  "message": "Invalid payment reference id"}


async def test_initialize_complete_pay_verify_and_refund() -> None:
    async with _client() as c:
        opened = _open((await _initialize(c, "B1")).json())
        ref, challenge = opened["paymentReferenceId"], opened["challenge"]
        assert challenge and opened["acceptDateTime"]
        wrong = _to_nagad({"merchantId": MERCHANT_ID, "orderId": "B1", "currencyCode": "840",
                           "amount": "10.50", "challenge": challenge})
        refused = await c.post(f"/api/dfs/check-out/complete/{ref}",
                               json={**wrong, "merchantCallbackURL": "http://pay.test/cb"})
        assert refused.json()["reason"] == "InvalidCurrency"
        order = _to_nagad({"merchantId": MERCHANT_ID, "orderId": "B1", "currencyCode": "050",
                           "amount": "10.50", "challenge": challenge})
        done = (await c.post(f"/api/dfs/check-out/complete/{ref}",
                             json={**order, "merchantCallbackURL": "http://pay.test/cb"})).json()
        assert done == {"status": "Success", "callBackUrl": f"http://nagad.test/check-out/{ref}"}
        record = (await c.get(f"/api/dfs/verify/payment/{ref}")).json()
        assert (record["status"], record["amount"], record["orderId"]) == ("Ready", "10.50", "B1")
        back = await c.get(f"/check-out/{ref}")  # auto_return: the customer pays at once
        assert back.status_code == 303
        assert back.headers["location"].startswith("http://pay.test/cb?merchant=")
        assert "status=Success" in back.headers["location"]
        record = (await c.get(f"/api/dfs/verify/payment/{ref}")).json()
        assert record["status"] == "Success" and record["issuerPaymentRefNo"]
        cancel = _to_nagad({"merchantId": MERCHANT_ID, "originalRequestDate": "20261202",
                            "originalAmount": "10.50", "cancelAmount": "5.00",
                            "referenceNo": "rf_1", "referenceMessage": "x"})
        refund = await c.post("/api/dfs/purchase/cancel",
                              params={"paymentRefId": ref, "orderId": "B1"},
                              json={"sensitiveDataCancelRequest": cancel["sensitiveData"],
                                    "signature": cancel["signature"]})
        answer = _open(refund.json())
        assert (answer["status"], answer["cancelAmount"]) == ("PartialRefunded", "5.00")
        assert answer["cancelTrxId"]
        too_much = _to_nagad({"merchantId": MERCHANT_ID, "originalRequestDate": "20261202",
                              "originalAmount": "10.50", "cancelAmount": "6.00",
                              "referenceNo": "rf_2", "referenceMessage": "x"})
        over = await c.post("/api/dfs/purchase/cancel",
                            params={"paymentRefId": ref, "orderId": "B1"},
                            json={"sensitiveDataCancelRequest": too_much["sensitiveData"],
                                  "signature": too_much["signature"]})
        assert over.status_code == 400 and "exceeds" in over.json()["message"]
