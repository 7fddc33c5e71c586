"""The provider executor itself: how it classifies each way a call can fail (against real
loopback sockets where the failure can be produced for real), the one log line it writes
per call with secrets, card and wallet numbers redacted, and the metrics it counts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from ownpay.gateways.base import GatewayError
from ownpay.gateways.executor import (
    EXTENSION,
    REDACTED,
    ProviderDidNotAct,
    ProviderExecutor,
    ProviderMayHaveActed,
    redact_body,
    redact_headers,
    redact_text,
)
from tests.simulators.loopback import Loopback, free_port

pytestmark = pytest.mark.contract

CARD = "4242424242424242"
WALLET = "01770618575"
SECRETS = {"Authorization": "tok-abc123secret", "X-APP-Key": "appkey-zz9",
           "username": "merchant-user", "password": "pa55word-x"}
BODY = {"app_key": "appkey-zz9", "app_secret": "appsecret-q7", "refresh_token": "rt-51",
        "payerReference": WALLET, "note": f"card {CARD} from +8801770618575", "amount": "10.00"}


def _count(gateway: str, operation: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("ownpay_provider_requests_total",
                                      {"gateway": gateway, "operation": operation,
                                       "outcome": outcome})
    return value or 0.0


def _observed(gateway: str, operation: str) -> float:
    value = REGISTRY.get_sample_value("ownpay_provider_request_duration_seconds_count",
                                      {"gateway": gateway, "operation": operation})
    return value or 0.0


def _mock(raise_or_answer: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(raise_or_answer))


def _raising(exc_type: type[httpx.HTTPError]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)  # type: ignore[call-arg]

    return answer


# ---- classification ----------------------------------------------------------------------

DID_NOT_ACT = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
               httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError]
MAY_HAVE_ACTED = [httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError,
                  httpx.RemoteProtocolError, httpx.CloseError]
TIMEOUTS = {httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ReadTimeout, httpx.WriteTimeout}


@pytest.mark.parametrize("failure", DID_NOT_ACT + MAY_HAVE_ACTED, ids=lambda f: f.__name__)
async def test_each_transport_failure_is_classified_logged_and_counted(
    failure: type[httpx.HTTPError],
) -> None:
    operation = f"classify {failure.__name__}"
    label = operation.replace(" ", "_")
    outcome = "timeout" if failure in TIMEOUTS else "connection_error"
    before, observed = _count("unit", label, outcome), _observed("unit", label)
    async with _mock(_raising(failure)) as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with capture_logs() as logs, pytest.raises(GatewayError) as caught:
            await executor.send(operation, "POST", "https://unit.test/v1/pay?token=s3cr3t",
                                json={"amount": "1.00"})
    expected = ProviderDidNotAct if failure in DID_NOT_ACT else ProviderMayHaveActed
    assert type(caught.value) is expected
    assert caught.value.may_have_acted is (failure in MAY_HAVE_ACTED)
    assert caught.value.retryable and failure.__name__ in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    [line] = logs
    assert line["event"] == "provider_call" and line["log_level"] == "warning"
    assert (line["gateway"], line["operation"], line["outcome"], line["status"]) == (
        "unit", label, outcome, None)
    assert (line["host"], line["path"], line["method"]) == ("unit.test", "/v1/pay", "POST")
    assert "s3cr3t" not in repr(line)
    assert _count("unit", label, outcome) == before + 1
    assert _observed("unit", label) == observed + 1


@pytest.mark.parametrize(("status", "outcome"), [(200, "ok"), (302, "ok"), (404, "provider_error"),
                                                 (429, "provider_error"), (503, "server_error")])
async def test_answers_are_counted_by_status_class(status: int, outcome: str) -> None:
    before = _count("unit", "answer", outcome)
    async with _mock(lambda r: httpx.Response(status, json={"ok": status < 400})) as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        response = await executor.send("answer", "GET", "https://unit.test/x",
                                       server_errors="return")
    assert response.status_code == status
    assert _count("unit", "answer", outcome) == before + 1


async def test_a_server_error_may_have_acted_unless_returned_to_the_adapter() -> None:
    async with _mock(lambda r: httpx.Response(502, text="bad gateway")) as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with pytest.raises(ProviderMayHaveActed, match="Unit answered HTTP 502 on refund"):
            await executor.send("refund", "POST", "https://unit.test/refund")
        returned = await executor.send("refund", "POST", "https://unit.test/refund",
                                       server_errors="return")
    assert returned.status_code == 502


async def test_every_request_carries_the_executor_mark() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with _mock(answer) as http:
        await ProviderExecutor(http, gateway="unit", provider="Unit").send(
            "mark", "GET", "https://unit.test/")
    assert [r.extensions.get(EXTENSION) for r in seen] == [True]


# ---- real sockets ------------------------------------------------------------------------


@asynccontextmanager
async def raw_server(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
                     ) -> AsyncIterator[int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)  # type: ignore[misc]
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def test_connection_refused_cannot_have_acted() -> None:
    async with httpx.AsyncClient() as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with pytest.raises(ProviderDidNotAct, match="Unit unreachable on grant: ConnectError"):
            await executor.send("grant", "POST", f"http://127.0.0.1:{free_port()}/grant")


async def test_a_tls_failure_cannot_have_acted() -> None:
    """https:// to a server that speaks plain HTTP: the handshake fails before any byte of
    the request is sent."""
    app = FastAPI()
    app.add_api_route("/", lambda: JSONResponse({}), methods=["GET"])
    async with Loopback(app) as url, httpx.AsyncClient() as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with pytest.raises(ProviderDidNotAct):
            await executor.send("tls", "GET", url.replace("http://", "https://"))


async def test_no_answer_after_sending_may_have_acted() -> None:
    stop = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await stop.wait()  # the provider got the request and never answers

    before = _count("unit", "execute", "timeout")
    async with raw_server(silent) as port, httpx.AsyncClient(
            timeout=httpx.Timeout(5.0, read=0.2)) as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with pytest.raises(ProviderMayHaveActed, match="Unit timed out on execute: ReadTimeout"):
            await executor.send("execute", "POST", f"http://127.0.0.1:{port}/execute", json={})
        stop.set()
    assert _count("unit", "execute", "timeout") == before + 1


async def test_a_connection_dropped_mid_answer_may_have_acted() -> None:
    async def dropping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"statusCode\":")
        await writer.drain()  # then the connection closes: the answer is lost

    async with raw_server(dropping) as port, httpx.AsyncClient() as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with capture_logs() as logs, pytest.raises(ProviderMayHaveActed):
            await executor.send("execute", "POST", f"http://127.0.0.1:{port}/execute", json={})
    [line] = logs
    assert line["outcome"] == "connection_error"


async def test_a_cancelled_call_is_logged_and_counted_once() -> None:
    received, stop = asyncio.Event(), asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        received.set()
        await stop.wait()

    before = _count("unit", "slow", "cancelled")
    async with raw_server(silent) as port, httpx.AsyncClient() as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with capture_logs() as logs:
            task = asyncio.create_task(
                executor.send("slow", "GET", f"http://127.0.0.1:{port}/"))
            await received.wait()  # the provider has the request; the caller gives up
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        stop.set()
    assert [line["outcome"] for line in logs] == ["cancelled"]
    assert _count("unit", "slow", "cancelled") == before + 1


# ---- redaction ---------------------------------------------------------------------------


async def test_a_failed_call_is_logged_redacted() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"id_token": "idt-9", "customerMsisdn": WALLET,
                                         "statusMessage": f"bad card {CARD}"})

    async with _mock(answer) as http:
        executor = ProviderExecutor(http, gateway="unit", provider="Unit")
        with capture_logs() as logs:
            response = await executor.send("token grant", "POST",
                                           "https://unit.test/grant?app_secret=appsecret-q7",
                                           headers=SECRETS, json=BODY, sensitive=("note",))
    assert response.status_code == 400
    [line] = logs
    text = json.dumps(line)
    for secret in (*SECRETS.values(), "appsecret-q7", "rt-51", "idt-9", WALLET, CARD,
                   "1770618575"):
        assert secret not in text, secret
    assert line["request_headers"]["Authorization"] == REDACTED
    assert json.loads(line["request_body"])["amount"] == "10.00"  # the rest stays readable
    assert json.loads(line["request_body"])["note"] == REDACTED  # declared for this call
    assert "bad card [card]" in line["response_body"]


async def test_a_successful_call_logs_no_body_and_no_header() -> None:
    async with _mock(lambda r: httpx.Response(200, json={"id_token": "idt-9"})) as http:
        with capture_logs() as logs:
            await ProviderExecutor(http, gateway="unit", provider="Unit").send(
                "token grant", "POST", "https://unit.test/grant", headers=SECRETS, json=BODY)
    [line] = logs
    assert line["log_level"] == "info" and line["outcome"] == "ok" and line["status"] == 200
    assert set(line) == {"event", "log_level", "gateway", "operation", "method", "host",
                         "path", "status", "outcome", "duration_ms"}


def test_redaction_rules() -> None:
    assert redact_text(f"pay {CARD} now") == "pay [card] now"
    assert redact_text("4242 4242 4242 4242") == "[card]"
    assert redact_text("order 1234567890123456") == "order 1234567890123456"  # not Luhn
    assert redact_text("paymentID TR0011AB1700000000000") == "paymentID TR0011AB1700000000000"
    assert redact_text(f"wallet {WALLET}, +8801770618575, +14155550123") == (
        "wallet [phone], [phone], [phone]")
    assert redact_text("amount 1250.50 BDT") == "amount 1250.50 BDT"
    headers = redact_headers({"Authorization": "Bearer sk_test_x", "Stripe-Version": "2026",
                              "Idempotency-Key": "txn_1", "X-APP-Key": "k", "Cookie": "c"})
    assert headers == {"Authorization": REDACTED, "Stripe-Version": "2026",
                       "Idempotency-Key": "txn_1", "X-APP-Key": REDACTED, "Cookie": REDACTED}
    form = redact_body("amount=9999&card[number]=4242424242424242&card[cvc]=123"
                       "&metadata[transaction_id]=txn_1&client_secret=pi_1_secret_2", form=True)
    assert "4242" not in form and "123" not in form and "secret_2" not in form
    assert "amount=9999" in form and "metadata[transaction_id]=txn_1" in form
    nested = json.loads(redact_body(json.dumps(
        {"data": [{"client_secret": "pi_secret", "status": "succeeded"}]})))
    assert nested == {"data": [{"client_secret": REDACTED, "status": "succeeded"}]}
    assert len(redact_body("x" * 5000)) == 1000
