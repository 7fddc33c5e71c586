"""The aamarPay stand-in follows the published API: credentials, required fields, the
hosted page's auto-posting form, and the search API's record."""

from __future__ import annotations

import httpx

from tests.simulators.aamarpay import SIGNATURE_KEY, STORE_ID, create_app

BODY = {
    "store_id": STORE_ID, "signature_key": SIGNATURE_KEY, "tran_id": "txn_0123456789abcdef",
    "amount": "10.50", "currency": "BDT", "desc": "Order 1", "cus_name": "Rahim",
    "cus_email": "r@example.com", "cus_phone": "01770618575",
    "success_url": "http://pay.test/s", "fail_url": "http://pay.test/f",
    "cancel_url": "http://pay.test/c", "type": "json",
}


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()),
                             base_url="http://aamarpay.test")


async def test_refusals() -> None:
    async with _client() as c:
        assert (await c.post("/jsonpost.php", json={**BODY, "store_id": "x"})).json() == (
            "Invalid Store ID")
        assert (await c.post("/jsonpost.php", json={**BODY, "signature_key": "x"})).json() == (
            "Invalid Signature Key")
        missing = await c.post("/jsonpost.php", json={**BODY, "cus_phone": ""})
        assert missing.json() == {"result": "failed", "errors": "cus_phone is required"}
        assert (await c.post("/jsonpost.php", json={**BODY, "amount": "1.005"})).json()[
            "errors"] == "Invalid amount"
        assert (await c.post("/jsonpost.php", json={**BODY, "currency": "EUR"})).json()[
            "errors"] == "Invalid currency"


async def test_pay_post_back_and_search() -> None:
    async with _client() as c:
        answer = (await c.post("/jsonpost.php", json=BODY)).json()
        assert answer["result"] == "true"
        track = answer["payment_url"].split("track=")[1]
        search = {"request_id": BODY["tran_id"], "store_id": STORE_ID,
                  "signature_key": SIGNATURE_KEY, "type": "json"}
        record = (await c.get("/api/v1/trxcheck/request.php", params=search)).json()
        assert record["pay_status"] == "Pending"
        page = await c.get("/paynow.php", params={"track": track})
        assert "10.50 BDT" in page.text
        posted = await c.post("/paynow.php/act", data={"track": track, "choice": "success"})
        assert 'action="http://pay.test/s"' in posted.text
        assert 'name="pay_status" value="Successful"' in posted.text
        assert "document.forms[0].submit()" in posted.text
        record = (await c.get("/api/v1/trxcheck/request.php", params=search)).json()
        assert (record["pay_status"], record["status_code"]) == ("Successful", "2")
        assert record["mer_txnid"] == BODY["tran_id"] and record["amount"] == "10.50"
        again = (await c.post("/jsonpost.php", json=BODY)).json()
        assert again == {"result": "failed", "errors": "Duplicate tran_id"}
        unknown = await c.get("/api/v1/trxcheck/request.php",
                              params={**search, "request_id": "txn_nope"})
        assert unknown.json() == "Invalid Request ID"
