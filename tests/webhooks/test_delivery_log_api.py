"""The delivery log (``/api/v1/webhooks/deliveries``) and the test ping, over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.receivers import Receiver
from tests.support.webhooks import add_endpoint, create_intent, move, pump

LOG = "/api/v1/webhooks/deliveries"


@pytest.fixture
async def log_setup(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> dict[str, object]:
    ok = await add_endpoint(wclient, shop, receiver.set("/ok"))
    bad = await add_endpoint(
        wclient, shop, receiver.set("/bad", status=500, body=b'{"err": "nope"}')
    )
    txns = []
    for _ in range(3):
        txn = await create_intent(wclient, shop)
        await move(wctx, txn, "completed")
        txns.append(txn)
    await pump(wctx)
    return {"ok": ok["id"], "bad": bad["id"], "txns": txns}


async def _list(client: httpx.AsyncClient, shop: MerchantKeys, **params: object) -> httpx.Response:
    return await client.get(LOG, headers=shop.auth(), params=params)


async def test_list_filters_and_fields(
    wclient: httpx.AsyncClient, shop: MerchantKeys, log_setup: dict[str, object]
) -> None:
    everything = (await _list(wclient, shop)).json()
    assert len(everything["data"]) == 6 and everything["has_more"] is False
    assert everything["next_cursor"] is None
    created = [d["created_at"] for d in everything["data"]]
    assert created == sorted(created, reverse=True)
    first = everything["data"][0]
    assert set(first) == {
        "id",
        "endpoint_id",
        "event_id",
        "event_type",
        "transaction_id",
        "mode",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    }

    ok = (await _list(wclient, shop, status="succeeded")).json()["data"]
    assert len(ok) == 3 and {d["endpoint_id"] for d in ok} == {log_setup["ok"]}
    assert all(
        d["delivered_at"] and d["next_attempt_at"] is None and d["last_status_code"] == 200
        for d in ok
    )
    retrying = (await _list(wclient, shop, status="retrying")).json()["data"]
    assert len(retrying) == 3 and all(
        d["next_attempt_at"] and d["last_status_code"] == 500 for d in retrying
    )
    assert len((await _list(wclient, shop, endpoint_id=log_setup["bad"])).json()["data"]) == 3
    txn = log_setup["txns"][0]  # type: ignore[index]
    by_txn = (await _list(wclient, shop, transaction_id=txn)).json()["data"]
    assert len(by_txn) == 2 and {d["transaction_id"] for d in by_txn} == {txn}
    assert len((await _list(wclient, shop, event_type="payment.completed")).json()["data"]) == 6
    assert (await _list(wclient, shop, event_type="payment.failed")).json()["data"] == []
    assert (await _list(wclient, shop, status="dead")).json()["data"] == []


async def test_cursor_pagination_walks_every_row_once(
    wclient: httpx.AsyncClient, shop: MerchantKeys, log_setup: dict[str, object]
) -> None:
    everything = [d["id"] for d in (await _list(wclient, shop)).json()["data"]]
    seen: list[str] = []
    cursor = None
    for _ in range(10):  # bounded
        params: dict[str, object] = {"limit": 4}
        if cursor:
            params["starting_after"] = cursor
        page = (await _list(wclient, shop, **params)).json()
        seen += [d["id"] for d in page["data"]]
        cursor = page["next_cursor"]
        assert page["has_more"] is (cursor is not None)
        if not page["has_more"]:
            break
    assert seen == everything and len(set(seen)) == 6


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"starting_after": "dlv_000000000000000000000000"}, "starting_after"),
    ],
)
async def test_bad_parameters_are_validation_errors(
    wclient: httpx.AsyncClient, shop: MerchantKeys, params: dict[str, object], field: str
) -> None:
    r = await _list(wclient, shop, **params)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
    assert field in r.json()["errors"]


async def test_detail_shows_payload_and_every_attempt(
    wctx: AppContext,
    wclient: httpx.AsyncClient,
    shop: MerchantKeys,
    log_setup: dict[str, object],
    receiver: Receiver,
) -> None:
    [row, *_] = (await _list(wclient, shop, endpoint_id=log_setup["bad"])).json()["data"]
    r = await wclient.get(f"{LOG}/{row['id']}", headers=shop.auth())
    assert r.status_code == 200
    detail = r.json()
    sent = [g for g in receiver.received("/bad") if g.delivery_id == row["id"]]
    assert (
        detail["payload"] == json.loads(sent[0].body)
        and detail["payload"]["event"] == "payment.completed"
    )
    [attempt] = detail["attempts"]
    assert attempt["number"] == 1 and attempt["status_code"] == 500 and attempt["success"] is False
    assert attempt["response_body"] == '{"err": "nope"}' and attempt["duration_ms"] >= 0
    assert attempt["started_at"].endswith("Z") and attempt["error"] is None


async def test_another_merchant_or_mode_cannot_see_or_replay_a_delivery(
    wctx: AppContext, wclient: httpx.AsyncClient, shop: MerchantKeys, log_setup: dict[str, object]
) -> None:
    [row, *_] = (await _list(wclient, shop)).json()["data"]
    other = await create_merchant(wctx)
    for headers in (other.auth(), shop.auth("live")):
        assert (await wclient.get(LOG, headers=headers)).json()["data"] == []
        r = await wclient.get(f"{LOG}/{row['id']}", headers=headers)
        assert r.status_code == 404 and r.json()["message"] == "Webhook delivery not found."
        assert (await wclient.post(f"{LOG}/{row['id']}/retry", headers=headers)).status_code == 404
        filtered = await wclient.get(LOG, headers=headers, params={"endpoint_id": log_setup["ok"]})
        assert filtered.json()["data"] == []
    async with wctx.sessions() as s, s.begin():  # read scope is enough for the log
        m = await merchants.get_merchant(s, shop.slug)
        key = await merchants.create_api_key(s, merchant=m, mode="test", scopes=("read",))
    reader = {"Authorization": f"Bearer {key.api_key}"}
    assert len((await wclient.get(LOG, headers=reader)).json()["data"]) == 6
    assert (await wclient.get(f"{LOG}/{row['id']}", headers=reader)).status_code == 200


async def test_test_ping_reports_the_receivers_answer(
    wclient: httpx.AsyncClient, shop: MerchantKeys, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(
        wclient, shop, receiver.set("/ping", status=202, body=b"pong" * 1000)
    )
    r = await wclient.post(
        "/api/v1/webhooks/tests", headers=shop.auth(), json={"endpoint_id": endpoint["id"]}
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["success"] is True and result["status_code"] == 202 and result["error"] is None
    assert result["response_body"] == ("pong" * 1000)[:2048] and result["duration_ms"] >= 0
    [got] = receiver.received("/ping")
    assert got.headers["x-ownpay-event"] == "test.ping" and got.delivery_id == result["delivery_id"]
    assert json.loads(got.body)["event"] == "test.ping"
    ts = got.headers["x-ownpay-timestamp"]
    expected = hmac.new(
        endpoint["secret"].encode(), ts.encode() + b"." + got.body, hashlib.sha256
    ).hexdigest()
    assert got.headers["x-ownpay-signature"] == "sha256=" + expected
    assert (await wclient.get(LOG, headers=shop.auth())).json()["data"] == []  # not logged

    receiver.set("/ping", status=500, body=b"boom")
    failed = (
        await wclient.post(
            "/api/v1/webhooks/tests", headers=shop.auth(), json={"endpoint_id": endpoint["id"]}
        )
    ).json()
    assert (
        failed["success"] is False
        and failed["status_code"] == 500
        and failed["response_body"] == "boom"
    )
    receiver.set("/ping", delay=1.5)
    slow = (
        await wclient.post(
            "/api/v1/webhooks/tests", headers=shop.auth(), json={"endpoint_id": endpoint["id"]}
        )
    ).json()
    assert slow["success"] is False and slow["error"].startswith("timeout")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"endpoint_id": 5}, 400),
        ({"endpoint_id": "we_nope"}, 404),
    ],
)
async def test_test_ping_validation(
    wclient: httpx.AsyncClient, shop: MerchantKeys, body: dict[str, object], status: int
) -> None:
    r = await wclient.post("/api/v1/webhooks/tests", headers=shop.auth(), json=body)
    assert r.status_code == status and r.json()["error"] is True
