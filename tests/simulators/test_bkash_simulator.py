"""The bKash Tokenized Checkout simulator behaves like bKash where the adapter can tell."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.simulators.bkash import PREFIX, BkashSimulator, create_app

pytestmark = pytest.mark.api

BASE = f"http://sim{PREFIX}"
CREDS = {"username": "sandbox-user", "password": "sandbox-pass"}
KEYS = {"app_key": "sandbox-app-key", "app_secret": "sandbox-app-secret"}
WALLET = "01770618575"


@pytest.fixture
def sim_app() -> FastAPI:
    return create_app()


@pytest.fixture
def sim(sim_app: FastAPI) -> BkashSimulator:
    state: BkashSimulator = sim_app.state.sim
    return state


@pytest.fixture
async def http(sim_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim_app),
        base_url="http://sim",
        follow_redirects=False,
    ) as client:
        yield client


async def grant(http: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    headers = {**CREDS, **{k: v for k, v in overrides.items() if k in CREDS}}
    body = {**KEYS, **{k: v for k, v in overrides.items() if k in KEYS}}
    return await http.post(f"{BASE}/tokenized/checkout/token/grant", json=body, headers=headers)


async def auth(http: httpx.AsyncClient) -> dict[str, str]:
    data = (await grant(http)).json()
    return {"Authorization": data["id_token"], "X-APP-Key": KEYS["app_key"]}


async def api(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await http.post(f"{BASE}/tokenized/checkout/{path}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def create(
    http: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    body = {
        "mode": "0011",
        "payerReference": "01770618575",
        "callbackURL": "https://shop.example/bkash/callback",
        "amount": "100.50",
        "currency": "BDT",
        "intent": "sale",
        "merchantInvoiceNumber": "INV-1",
        **overrides,
    }
    return await api(http, "create", headers, **body)


def page_path(created: dict[str, Any]) -> str:
    url = urlsplit(created["bkashURL"])
    assert url.netloc == "sim"
    return url.path


async def submit(
    http: httpx.AsyncClient,
    created: dict[str, Any],
    *,
    wallet: str = WALLET,
    otp: str = "123456",
    pin: str = "12121",
    action: str = "confirm",
) -> httpx.Response:
    return await http.post(
        page_path(created), data={"wallet": wallet, "otp": otp, "pin": pin, "action": action}
    )


def callback_params(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "shop.example",
        "/bkash/callback",
    )
    return parse_qs(location.query)


# ---- tokens --------------------------------------------------------------------------


async def test_grant_returns_token(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    data = (await grant(http)).json()
    assert data["statusCode"] == "0000"
    assert data["statusMessage"] == "Successful"
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert data["id_token"] and data["refresh_token"]
    assert sim.grant_calls == 1


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"username": "nobody"}, "9999"),
        ({"password": "wrong"}, "9999"),
        ({"app_key": "wrong"}, "2001"),
        ({"app_secret": "wrong"}, "9999"),
    ],
)
async def test_grant_refuses_wrong_credentials(
    http: httpx.AsyncClient, override: dict[str, str], code: str
) -> None:
    response = await grant(http, **override)
    assert response.status_code == 200  # bKash reports errors in the body
    data = response.json()
    assert data["statusCode"] == code
    assert data["statusMessage"]
    assert "id_token" not in data


async def test_refresh_issues_new_token(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    first = (await grant(http)).json()
    response = await http.post(
        f"{BASE}/tokenized/checkout/token/refresh",
        json={**KEYS, "refresh_token": first["refresh_token"]},
        headers=CREDS,
    )
    data = response.json()
    assert data["statusCode"] == "0000"
    assert data["id_token"] != first["id_token"]
    assert data["refresh_token"] == first["refresh_token"]
    headers = {"Authorization": data["id_token"], "X-APP-Key": KEYS["app_key"]}
    assert (await create(http, headers))["statusCode"] == "0000"
    assert sim.refresh_calls == 1

    bad = await http.post(
        f"{BASE}/tokenized/checkout/token/refresh",
        json={**KEYS, "refresh_token": "nope"},
        headers=CREDS,
    )
    assert bad.json()["statusCode"] == "9999"
    assert "id_token" not in bad.json()


async def test_expired_and_unknown_tokens_are_refused(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    headers = await auth(http)
    assert (await create(http, headers))["statusCode"] == "0000"

    sim.expire_tokens()
    response = await http.post(f"{BASE}/tokenized/checkout/create", json={}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "The incoming token has expired"}

    unknown = await http.post(
        f"{BASE}/tokenized/checkout/create", json={}, headers={**headers, "Authorization": "forged"}
    )
    assert unknown.status_code == 401
    assert unknown.json() == {"message": "Unauthorized"}

    fresh = await auth(http)
    bearer = await http.post(
        f"{BASE}/tokenized/checkout/create",
        json={},
        headers={**fresh, "Authorization": f"Bearer {fresh['Authorization']}"},
    )
    assert bearer.status_code == 401  # bKash wants the bare id_token

    no_key = await http.post(
        f"{BASE}/tokenized/checkout/create",
        json={},
        headers={"Authorization": fresh["Authorization"]},
    )
    assert no_key.status_code == 403
    assert len(sim.payments) == 1  # refused calls created nothing


async def test_tokens_expire_with_the_clock(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    headers = await auth(http)
    sim.advance(3599)
    assert (await create(http, headers))["statusCode"] == "0000"
    sim.advance(2)
    response = await http.post(f"{BASE}/tokenized/checkout/create", json={}, headers=headers)
    assert response.status_code == 401


# ---- the happy path ------------------------------------------------------------------


async def test_full_payment_flow(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    assert created["statusCode"] == "0000"
    assert created["transactionStatus"] == "Initiated"
    assert created["amount"] == "100.50"
    assert created["currency"] == "BDT"
    assert created["intent"] == "sale"
    assert created["merchantInvoiceNumber"] == "INV-1"
    assert created["callbackURL"] == "https://shop.example/bkash/callback"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d:\d{3} GMT\+0600", created["paymentCreateTime"]
    )
    payment_id = created["paymentID"]
    assert payment_id.startswith("TR0011")
    assert page_path(created) == f"{PREFIX}/checkout/{payment_id}"

    page = await http.get(page_path(created))
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    for name, label in (("wallet", "Wallet number"), ("otp", "Verification code"), ("pin", "PIN")):
        assert f'<label for="{name}">{label}</label>' in page.text
        assert f'id="{name}"' in page.text
    assert ">Confirm</button>" in page.text and ">Cancel</button>" in page.text
    assert "http" not in page.text.split("<main>", 1)[1]  # no external assets or links

    params = callback_params(await submit(http, created))
    assert params["paymentID"] == [payment_id]
    assert params["status"] == ["success"]
    assert sim.payments[payment_id].state == "authorized"

    before = await api(http, "payment/status", headers, paymentID=payment_id)
    assert before["transactionStatus"] == "Initiated"
    assert "trxID" not in before

    executed = await api(http, "execute", headers, paymentID=payment_id)
    assert executed["statusCode"] == "0000"
    assert executed["transactionStatus"] == "Completed"
    assert re.fullmatch(r"[A-Z0-9]{10}", executed["trxID"])
    assert executed["amount"] == "100.50"
    assert executed["currency"] == "BDT"
    assert executed["merchantInvoiceNumber"] == "INV-1"
    assert executed["customerMsisdn"] == WALLET
    assert executed["payerReference"] == "01770618575"
    assert executed["paymentExecuteTime"]

    status = await api(http, "payment/status", headers, paymentID=payment_id)
    assert status["statusCode"] == "0000"
    assert status["transactionStatus"] == "Completed"
    assert status["trxID"] == executed["trxID"]
    assert status["amount"] == "100.50"
    assert status["currency"] == "BDT"
    assert status["merchantInvoiceNumber"] == status["merchantInvoice"] == "INV-1"

    again = await api(http, "execute", headers, paymentID=payment_id)
    assert again["statusCode"] == "2117"
    assert "trxID" not in again
    assert sim.execute_calls[payment_id] == 1
    assert sim.execute_attempts[payment_id] == 2

    closed = await http.get(page_path(created))
    assert closed.status_code == 409


async def test_callback_keeps_existing_query(http: httpx.AsyncClient) -> None:
    headers = await auth(http)
    created = await create(http, headers, callbackURL="https://shop.example/cb?order=a%26b&x=1")
    response = await submit(http, created)
    location = urlsplit(response.headers["location"])
    params = parse_qs(location.query)
    assert params["order"] == ["a&b"]
    assert params["x"] == ["1"]
    assert params["paymentID"] == [created["paymentID"]]
    assert params["status"] == ["success"]


async def test_bkash_url_uses_public_url() -> None:
    app = create_app(public_url="https://sim.example:9000/")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as http:
        created = await create(http, await auth(http))
    assert created["bkashURL"] == (
        f"https://sim.example:9000{PREFIX}/checkout/{created['paymentID']}"
    )


# ---- the customer's other choices ----------------------------------------------------


async def test_cancel(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    params = callback_params(await submit(http, created, otp="", pin="", action="cancel"))
    assert params["status"] == ["cancel"]
    status = await api(http, "payment/status", headers, paymentID=created["paymentID"])
    assert status["transactionStatus"] == "Cancelled"
    refused = await api(http, "execute", headers, paymentID=created["paymentID"])
    assert refused["statusCode"] == "2056"
    assert sim.execute_calls[created["paymentID"]] == 0


async def test_wrong_otp_and_pin(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    payment = sim.payments[created["paymentID"]]

    wrong_otp = await submit(http, created, otp="000000")
    assert wrong_otp.status_code == 200
    assert 'role="alert"' in wrong_otp.text
    assert "Wrong verification code" in wrong_otp.text
    assert f'value="{WALLET}"' in wrong_otp.text  # the wallet number is kept
    assert payment.failed_attempts == 1 and payment.state == "initiated"

    wrong_pin = await submit(http, created, pin="99999")
    assert wrong_pin.status_code == 200
    assert "Wrong PIN" in wrong_pin.text
    assert payment.failed_attempts == 2

    params = callback_params(await submit(http, created, pin="11111"))
    assert params["status"] == ["failure"]
    assert payment.state == "failed"
    assert payment.failure_code == "2015"
    status = await api(http, "payment/status", headers, paymentID=created["paymentID"])
    assert status["transactionStatus"] == "Failed"
    refused = await api(http, "execute", headers, paymentID=created["paymentID"])
    assert refused["statusCode"] == "2056"


async def test_three_wrong_otps_fail(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    for _ in range(2):
        assert (await submit(http, created, otp="1")).status_code == 200
    params = callback_params(await submit(http, created, otp="1"))
    assert params["status"] == ["failure"]
    assert sim.payments[created["paymentID"]].failure_reason == (
        "2017 Wrong verification limit exceeded"
    )


async def test_malformed_wallet_is_not_an_attempt(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    response = await submit(http, created, wallet="12345")
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert sim.payments[created["paymentID"]].failed_attempts == 0


async def test_insufficient_balance(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    sim.wallets["01700000001"] = 50
    headers = await auth(http)
    created = await create(http, headers)
    params = callback_params(await submit(http, created, wallet="01700000001"))
    assert params["status"] == ["failure"]
    payment = sim.payments[created["paymentID"]]
    assert payment.state == "failed"
    assert payment.failure_reason == "2023 Insufficient Balance"
    status = await api(http, "payment/status", headers, paymentID=created["paymentID"])
    assert status["transactionStatus"] == "Failed"


async def test_balance_is_checked_again_at_execute(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    sim.wallets["01700000002"] = Decimal("500")
    headers = await auth(http)
    created = await create(http, headers)
    callback_params(await submit(http, created, wallet="01700000002"))
    sim.wallets["01700000002"] = 10
    refused = await api(http, "execute", headers, paymentID=created["paymentID"])
    assert refused == {"statusCode": "2023", "statusMessage": "Insufficient Balance"}
    assert sim.payments[created["paymentID"]].state == "failed"


async def test_execute_before_customer_confirms(http: httpx.AsyncClient) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    refused = await api(http, "execute", headers, paymentID=created["paymentID"])
    assert refused["statusCode"] == "2060"
    unknown = await api(http, "execute", headers, paymentID="TR0011XX0000000000000")
    assert unknown["statusCode"] == "2002"


# ---- create validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"currency": "USD"}, "2007"),
        ({"amount": "10.505"}, "2006"),
        ({"amount": "0"}, "2006"),
        ({"amount": "-5"}, "2006"),
        ({"amount": "abc"}, "2006"),
        ({"intent": "authorization"}, "2008"),
        ({"mode": "0001"}, "2064"),
        ({"mode": "11"}, "2063"),
        ({"callbackURL": "not a url"}, "2049"),
        ({"merchantInvoiceNumber": ""}, "2065"),
    ],
)
async def test_create_validation(
    http: httpx.AsyncClient, sim: BkashSimulator, override: dict[str, str], code: str
) -> None:
    data = await create(http, await auth(http), **override)
    assert data["statusCode"] == code
    assert data["statusMessage"]
    assert "paymentID" not in data
    assert sim.payments == {}


async def test_error_envelope_can_be_errorcode(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    sim.error_envelope = "errorCode"
    data = await create(http, await auth(http), currency="USD")
    assert data == {"errorCode": "2007", "errorMessage": "Invalid currency"}


async def test_invalid_json_body(http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"{BASE}/tokenized/checkout/create", content=b"{not json", headers=await auth(http)
    )
    assert response.json()["statusCode"] == "2025"


# ---- refunds -------------------------------------------------------------------------


async def completed_payment(
    http: httpx.AsyncClient, headers: dict[str, str], amount: str = "100.00"
) -> dict[str, Any]:
    created = await create(http, headers, amount=amount)
    callback_params(await submit(http, created))
    return await api(http, "execute", headers, paymentID=created["paymentID"])


async def test_partial_refunds_and_over_refund(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    headers = await auth(http)
    paid = await completed_payment(http, headers)
    ids = {"paymentID": paid["paymentID"], "trxID": paid["trxID"]}

    first = await api(
        http, "payment/refund", headers, **ids, amount="30.00", sku="R1", reason="damaged"
    )
    assert first["statusCode"] == "0000"
    assert first["transactionStatus"] == "Completed"
    assert first["amount"] == "30.00"
    assert first["currency"] == "BDT"
    assert first["originalTrxID"] == paid["trxID"]
    assert re.fullmatch(r"[A-Z0-9]{10}", first["refundTrxID"])
    assert first["refundTrxID"] != paid["trxID"]
    assert first["completedTime"]

    over = await api(
        http, "payment/refund", headers, **ids, amount="70.01", sku="R2", reason="again"
    )
    assert over["statusCode"] == "2026"
    assert "refundTrxID" not in over

    rest = await api(http, "payment/refund", headers, **ids, amount="70", sku="R3", reason="rest")
    assert rest["statusCode"] == "0000"
    assert sim.payments[paid["paymentID"]].refundable == 0

    done = await api(http, "payment/refund", headers, **ids, amount="1", sku="R4", reason="x")
    assert done["statusCode"] == "2034"

    status = await api(http, "payment/refund", headers, **ids)
    assert status["statusCode"] == "0000"
    assert status["refundTrxID"] == rest["refundTrxID"]
    assert status["originalTrxID"] == paid["trxID"]

    query = await api(http, "payment/status", headers, paymentID=paid["paymentID"])
    assert query["maxRefundableAmount"] == "0.00"


async def test_refund_refusals(http: httpx.AsyncClient) -> None:
    headers = await auth(http)
    paid = await completed_payment(http, headers)
    ids = {"paymentID": paid["paymentID"], "trxID": paid["trxID"]}

    nothing_yet = await api(http, "payment/refund", headers, **ids)
    assert nothing_yet["statusCode"] == "2033"
    wrong_trx = await api(
        http,
        "payment/refund",
        headers,
        paymentID=paid["paymentID"],
        trxID="AAAAAAAAAA",
        amount="1",
        sku="s",
        reason="r",
    )
    assert wrong_trx["statusCode"] == "2028"
    bad_amount = await api(
        http, "payment/refund", headers, **ids, amount="1.234", sku="s", reason="r"
    )
    assert bad_amount["statusCode"] == "2006"
    missing = await api(http, "payment/refund", headers, **ids, amount="1")
    assert missing["statusCode"] == "2065"


# ---- test hooks ----------------------------------------------------------------------


async def test_fail_next_returns_http_500_once(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    headers = await auth(http)
    sim.fail_next["/tokenized/checkout/create"] = 500
    down = await http.post(f"{BASE}/tokenized/checkout/create", json={}, headers=headers)
    assert down.status_code == 500
    assert sim.payments == {}
    assert (await create(http, headers))["statusCode"] == "0000"
    assert sim.fail_next == {}

    sim.fail_next["grant"] = {"statusCode": "9999", "statusMessage": "System Error."}
    assert (await grant(http)).json()["statusCode"] == "9999"
    assert (await grant(http)).json()["statusCode"] == "0000"


async def test_fail_after_next_acts_then_fails(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    callback_params(await submit(http, created))
    sim.fail_after_next[f"{PREFIX}/tokenized/checkout/execute"] = 502
    lost = await http.post(
        f"{BASE}/tokenized/checkout/execute",
        json={"paymentID": created["paymentID"]},
        headers=headers,
    )
    assert lost.status_code == 502
    status = await api(http, "payment/status", headers, paymentID=created["paymentID"])
    assert status["transactionStatus"] == "Completed"
    assert sim.execute_calls[created["paymentID"]] == 1


async def test_slow_execute_completes_before_answering(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    callback_params(await submit(http, created))
    sim.execute_delay = 0.3

    async def status_meanwhile() -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return await api(http, "payment/status", headers, paymentID=created["paymentID"])

    executed, status = await asyncio.gather(
        api(http, "execute", headers, paymentID=created["paymentID"]), status_meanwhile()
    )
    assert status["transactionStatus"] == "Completed"
    assert status["trxID"] == executed["trxID"]


async def test_execute_times_out_for_a_client_with_a_short_timeout(
    sim_app: FastAPI, sim: BkashSimulator
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim_app), base_url="http://sim"
    ) as http:
        headers = await auth(http)
        created = await create(http, headers)
        sim.approve(created["paymentID"])
        sim.execute_delay = 5.0
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await http.post(
                    f"{BASE}/tokenized/checkout/execute",
                    json={"paymentID": created["paymentID"]},
                    headers=headers,
                )
        sim.execute_delay = 0
        status = await api(http, "payment/status", headers, paymentID=created["paymentID"])
    assert status["transactionStatus"] == "Completed"


async def test_helpers_and_recording(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    headers = await auth(http)
    created = await create(http, headers)
    payment = sim.approve(created["paymentID"], wallet="01911111111")
    assert payment.state == "authorized"
    assert (await api(http, "execute", headers, paymentID=payment.payment_id))[
        "customerMsisdn"
    ] == "01911111111"
    assert [r.path for r in sim.requests] == [
        "/tokenized/checkout/token/grant",
        "/tokenized/checkout/create",
        "/tokenized/checkout/execute",
    ]
    assert sim.requests[1].headers["x-app-key"] == KEYS["app_key"]
    assert sim.requests[1].body["merchantInvoiceNumber"] == "INV-1"
    assert sim.calls["/tokenized/checkout/execute"] == 1

    other = await create(http, headers, merchantInvoiceNumber="INV-2")
    assert sim.decline(other["paymentID"]).failure_reason == "2023 Insufficient Balance"
    assert sim.callback_url(payment, "success").startswith(
        "https://shop.example/bkash/callback?paymentID="
    )


async def test_unknown_checkout_page(http: httpx.AsyncClient) -> None:
    assert (await http.get(f"{PREFIX}/checkout/TR0011nope")).status_code == 404


async def test_debit_blocked_sandbox_wallet(http: httpx.AsyncClient, sim: BkashSimulator) -> None:
    created = await create(http, await auth(http))
    params = callback_params(await submit(http, created, wallet="01823074818"))
    assert params["status"] == ["failure"]
    assert sim.payments[created["paymentID"]].failure_code == "2037"


def test_main_runs_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen.update(kwargs, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    from tests.simulators.bkash import main

    main("127.0.0.1", 8999)
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8999)
    assert isinstance(seen["app"].state.sim, BkashSimulator)


async def test_refund_and_refund_status_faults_are_told_apart(
    http: httpx.AsyncClient, sim: BkashSimulator
) -> None:
    headers = await auth(http)
    paid = await completed_payment(http, headers)
    ids = {"paymentID": paid["paymentID"], "trxID": paid["trxID"]}

    sim.fail_next["payment/refund"] = 504  # only a refund itself, not a status query
    assert (await api(http, "payment/refund", headers, **ids))["statusCode"] == "2033"
    lost = await http.post(
        f"{BASE}/tokenized/checkout/payment/refund",
        json={**ids, "amount": "10", "sku": "s", "reason": "r"},
        headers=headers,
    )
    assert lost.status_code == 504
    assert sim.payments[paid["paymentID"]].refunds == []

    sim.fail_next["refund/status"] = 503
    down = await http.post(f"{BASE}/tokenized/checkout/payment/refund", json=ids, headers=headers)
    assert down.status_code == 503
    done = await api(http, "payment/refund", headers, **ids, amount="10", sku="s", reason="r")
    assert done["statusCode"] == "0000"
    assert sim.calls["/tokenized/checkout/payment/refund"] == 4
