"""The SSLCommerz stand-in follows the published integration guide: the session API and its
refusals, the hosted page's auto-posting form, the validation API, the transaction query by
session key and by tran_id, refund initiate and refund query, and the IPN (its
``verify_sign``, and the ``duplicate_ipn`` switch)."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx

from tests.simulators.sslcommerz import STORE_ID, STORE_PASSWD, SslcommerzSimulator, create_app

AUTH = {"store_id": STORE_ID, "store_passwd": STORE_PASSWD}
FORM = {
    **AUTH, "total_amount": "1250.50", "currency": "BDT", "tran_id": "txn_0123456789abcdef",
    "success_url": "http://pay.test/back", "fail_url": "http://pay.test/back",
    "cancel_url": "http://pay.test/back", "ipn_url": "http://pay.test/ipn",
    "cus_name": "Rahim Uddin", "cus_email": "rahim@example.com", "cus_phone": "01770618575",
    "product_name": "Order 1", "product_category": "General", "product_profile": "general",
    "shipping_method": "NO",
}
SESSION = "/gwprocess/v4/api.php"
VALIDATION = "/validator/api/validationserverAPI.php"
QUERY = "/validator/api/merchantTransIDvalidationAPI.php"
_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form id="back" method="post" action="([^"]+)">')


def _client(sim: SslcommerzSimulator | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sim)),
                             base_url="http://sslcommerz.test")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


async def _session(c: httpx.AsyncClient, **overrides: str) -> dict[str, str]:
    r = await c.post(SESSION, data={**FORM, **overrides})
    assert r.status_code == 200, r.text
    answer: dict[str, str] = r.json()
    return answer


async def _at_page(c: httpx.AsyncClient, key: str, choice: str) -> tuple[str, dict[str, str]]:
    """The customer at the hosted page: where its form posts, and the fields."""
    r = await c.get("/gwprocess/v4/gw.php", params={"Q": "pay", "SESSIONKEY": key,
                                                    "choice": choice})
    assert r.status_code == 200, r.text
    action = _ACTION.search(r.text)
    assert action is not None, r.text
    assert 'document.getElementById("back").submit()' in r.text  # it posts itself
    return action.group(1), dict(_FIELD.findall(r.text))


async def _paid(c: httpx.AsyncClient, **overrides: str) -> tuple[str, dict[str, str]]:
    key = (await _session(c, **overrides))["sessionkey"]
    _, fields = await _at_page(c, key, "success")
    return key, fields


async def test_the_session_api_and_its_refusals() -> None:
    async with _client() as c:
        wrong = await _session(c, store_passwd="nope")
        assert (wrong["status"], wrong["sessionkey"]) == ("FAILED", "")
        assert wrong["failedreason"].startswith("Store Credential Error")
        assert (await _session(c, cus_phone=""))["failedreason"] == (
            "Invalid Information: cus_phone")
        assert (await _session(c, currency="XYZ"))["failedreason"] == "Invalid currency"
        assert (await _session(c, total_amount="9.99"))["failedreason"] == "Invalid amount"
        # USD 10 is BDT 1,100 at the stand-in's rate: within the limits
        assert (await _session(c, currency="USD", total_amount="10"))["status"] == "SUCCESS"
        opened = await _session(c)
        key = opened["sessionkey"]
        assert opened["status"] == "SUCCESS" and re.fullmatch(r"[0-9A-F]{32}", key)
        assert opened["GatewayPageURL"] == (
            f"http://sslcommerz.test/gwprocess/v4/gw.php?Q=pay&SESSIONKEY={key}")
        unknown = await c.get("/gwprocess/v4/gw.php", params={"SESSIONKEY": "F" * 32})
        assert unknown.status_code == 404


async def test_the_hosted_page_posts_each_outcome_back() -> None:
    sim = SslcommerzSimulator()
    async with _client(sim) as c:
        key = (await _session(c))["sessionkey"]
        target, failed = await _at_page(c, key, "fail")
        assert target == FORM["fail_url"] and failed["status"] == "FAILED"
        assert sim.session(key).status == "FAILED" and "val_id" not in failed
        key2 = (await _session(c))["sessionkey"]
        target, cancelled = await _at_page(c, key2, "cancel")
        assert target == FORM["cancel_url"] and cancelled["status"] == "CANCELLED"
        key3, paid = await _paid(c)
        assert paid["status"] == "VALID" and paid["tran_id"] == FORM["tran_id"]
        assert paid["val_id"] and paid["bank_tran_id"] == sim.session(key3).bank_tran_id
        assert (paid["currency_type"], paid["currency_amount"]) == ("BDT", "1250.50")
        # the posted fields are signed as SSLCommerz signs them
        signed = {k: paid.get(k, "") for k in paid["verify_key"].split(",")}
        signed["store_passwd"] = _md5(STORE_PASSWD)
        assert paid["verify_sign"] == _md5("&".join(f"{k}={signed[k]}" for k in sorted(signed)))
        # paying again (a reload) keeps the same transaction
        _, again = await _at_page(c, key3, "success")
        assert again["val_id"] == paid["val_id"]


async def test_the_validation_api() -> None:
    async with _client() as c:
        _, paid = await _paid(c)
        params = {**AUTH, "val_id": paid["val_id"], "format": "json"}
        first = (await c.get(VALIDATION, params=params)).json()
        assert (first["status"], first["tran_id"], first["amount"]) == (
            "VALID", FORM["tran_id"], "1250.50")
        assert first["APIConnect"] == "DONE"
        assert (await c.get(VALIDATION, params=params)).json()["status"] == "VALIDATED"
        for wrong in ({"val_id": "nope"}, {"store_passwd": "nope"}):
            answer = (await c.get(VALIDATION, params={**params, **wrong})).json()
            assert answer["status"] == "INVALID_TRANSACTION", wrong


async def test_the_transaction_query_by_session_key_and_by_tran_id() -> None:
    async with _client() as c:
        unpaid = (await _session(c))["sessionkey"]
        paid, _ = await _paid(c)  # the same tran_id: a second attempt
        by_key = (await c.get(QUERY, params={**AUTH, "sessionkey": paid})).json()
        assert (by_key["APIConnect"], by_key["status"], by_key["sessionkey"]) == (
            "DONE", "VALID", paid)
        pending = (await c.get(QUERY, params={**AUTH, "sessionkey": unpaid})).json()
        assert pending["status"] == "PENDING"
        gone = (await c.get(QUERY, params={**AUTH, "sessionkey": "F" * 32})).json()
        assert gone["APIConnect"] == "INVALID_REQUEST"
        by_tran = (await c.get(QUERY, params={**AUTH, "tran_id": FORM["tran_id"]})).json()
        assert (by_tran["APIConnect"], by_tran["no_of_trans_found"]) == ("DONE", 2)
        assert {e["sessionkey"]: e["status"] for e in by_tran["element"]} == {
            unpaid: "PENDING", paid: "VALID"}
        none = (await c.get(QUERY, params={**AUTH, "tran_id": "txn_other"})).json()
        assert none["no_of_trans_found"] == 0 and none["element"] == []
        refused = (await c.get(QUERY, params={"store_id": STORE_ID, "store_passwd": "nope",
                                              "sessionkey": paid})).json()
        assert refused == {"APIConnect": "INVALID_REQUEST"}


async def test_refund_and_refund_query() -> None:
    sim = SslcommerzSimulator()
    async with _client(sim) as c:
        key, paid = await _paid(c)
        ask = {**AUTH, "bank_tran_id": paid["bank_tran_id"], "refund_remarks": "returned",
               "refe_id": "rf_1", "format": "json"}
        done = (await c.get(QUERY, params={**ask, "refund_amount": "1000.00"})).json()
        assert (done["APIConnect"], done["status"], done["trans_id"]) == (
            "DONE", "success", FORM["tran_id"])
        ref = done["refund_ref_id"]
        too_much = (await c.get(QUERY, params={**ask, "refund_amount": "250.51"})).json()
        assert too_much["status"] == "failed" and too_much["refund_ref_id"] == ""
        unknown = (await c.get(QUERY, params={**ask, "bank_tran_id": "1",
                                              "refund_amount": "1"})).json()
        assert (unknown["status"], unknown["errorReason"]) == ("failed", "Invalid bank_tran_id")
        asked = (await c.get(QUERY, params={**AUTH, "refund_ref_id": ref})).json()
        assert (asked["status"], asked["bank_tran_id"]) == ("processing", paid["bank_tran_id"])
        sim.settle_refunds()
        assert (await c.get(QUERY, params={**AUTH, "refund_ref_id": ref})).json()[
            "status"] == "refunded"
        assert sim.refunded(key) == Decimal("1000.00")
        missing = (await c.get(QUERY, params={**AUTH, "refund_ref_id": "5000"})).json()
        assert missing["APIConnect"] == "INVALID_REQUEST"
        assert [op for op, _ in sim.calls if op.startswith("refund")] == [
            "refund", "refund", "refund", "refund_query", "refund_query", "refund_query"]


async def test_the_ipn_is_signed_and_sent_twice_when_asked() -> None:
    sim = SslcommerzSimulator()
    received: list[dict[str, str]] = []

    def ipn_receiver(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == FORM["ipn_url"]
        received.append(dict(parse_qsl(request.content.decode(), keep_blank_values=True)))
        return httpx.Response(200, text="ok")

    async with _client(sim) as c, httpx.AsyncClient(
            transport=httpx.MockTransport(ipn_receiver)) as http:
        key, paid = await _paid(c)
        (answer,) = await sim.send_ipn(key, http)
        assert answer.status_code == 200
        (ipn,) = received
        assert (ipn["status"], ipn["val_id"], ipn["tran_id"]) == (
            "VALID", paid["val_id"], FORM["tran_id"])
        signed = {k: ipn.get(k, "") for k in ipn["verify_key"].split(",")}
        signed["store_passwd"] = _md5(STORE_PASSWD)
        assert ipn["verify_sign"] == _md5("&".join(f"{k}={signed[k]}" for k in sorted(signed)))
        sim.duplicate_ipn = True
        assert len(await sim.send_ipn(key, http)) == 2
        assert received[1] == received[2] == ipn and len(sim.ipns_sent) == 3
        # a failed session's IPN says so, without a val_id to validate
        failed = (await _session(c))["sessionkey"]
        await _at_page(c, failed, "fail")
        sim.duplicate_ipn = False
        await sim.send_ipn(failed, http)
        assert (received[-1]["status"], received[-1]["val_id"]) == ("FAILED", "")
