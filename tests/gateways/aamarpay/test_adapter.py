"""The aamarPay adapter called directly against the stand-in: the return as aamarPay posts
it (form fields as ``params``, which the adapter never trusts), expiry, and the mapping."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from ownpay.gateways.aamarpay.adapter import ADAPTER, return_token
from ownpay.gateways.aamarpay.mapping import (
    ReturnKind,
    describe_failure,
    from_aamarpay_amount,
    map_verify,
    payment_url,
    refusal,
    to_aamarpay_amount,
)
from ownpay.gateways.aamarpay.messages import CANCELLED, DECLINED, NOT_CONFIRMED
from ownpay.gateways.base import GatewayContext, GatewayError, Outcome, PaymentView
from ownpay.gateways.executor import ProviderMayHaveActed
from tests.gateways.aamarpay.support import CREDENTIALS, Stand
from tests.simulators.aamarpay import create_app
from tests.support.bkash import serving


@pytest.fixture
async def stand() -> AsyncIterator[Stand]:
    app = create_app()
    async with serving(app) as url:
        yield Stand(app, url)


@pytest.fixture
async def gctx(stand: Stand) -> AsyncIterator[GatewayContext]:
    async with httpx.AsyncClient(timeout=1.0) as http:
        creds, settings = ADAPTER.validate_config(dict(CREDENTIALS), {"base_url": stand.url})
        yield GatewayContext(mode="test", credentials=creds, settings=settings, http=http,
                             public_base_url="http://pay.test")


def _payment(**changes: object) -> PaymentView:
    view = PaymentView(
        transaction_id="txn_" + secrets.token_hex(8),
        merchant_slug="shop", mode="test", status="pending", amount_minor=125050,
        currency="BDT", order_id="ORD-1", description=None, customer_name="Rahim",
        customer_email="rahim@example.com", customer_phone="01770618575",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def _posted(ctx: GatewayContext, payment: PaymentView, kind: ReturnKind,
            **fields: str) -> dict[str, str]:
    return {"return_token": return_token(ctx, payment, kind), **fields}


async def test_the_return_as_posted_is_verified_with_the_search_api(
    gctx: GatewayContext, stand: Stand,
) -> None:
    payment = _payment()
    await ADAPTER.start_checkout(gctx, payment)
    # the posted body claims success before anything was paid: not believed
    lie = _posted(gctx, payment, ReturnKind.SUCCESS, pay_status="Successful", status_code="2",
                  mer_txnid=payment.transaction_id, amount="1250.50", currency="BDT")
    assert (await ADAPTER.verify_return(gctx, payment, lie)).outcome is Outcome.PENDING
    stand.sim.act(payment.transaction_id, "success")
    result = await ADAPTER.verify_return(gctx, payment, lie)
    assert result.outcome is Outcome.SUCCEEDED
    assert (result.amount_minor, result.currency, result.reference) == (
        125050, "BDT", payment.transaction_id)
    assert result.provider_txn_id == stand.sim.transactions[payment.transaction_id].pg_txnid


async def test_fail_and_cancel_returns(gctx: GatewayContext, stand: Stand) -> None:
    cancelled = _payment()
    await ADAPTER.start_checkout(gctx, cancelled)
    stand.sim.act(cancelled.transaction_id, "cancel")
    result = await ADAPTER.verify_return(gctx, cancelled,
                                         _posted(gctx, cancelled, ReturnKind.CANCEL))
    assert (result.outcome, result.customer_message) == (Outcome.PENDING, CANCELLED)
    # the fail URL while aamarPay still says Pending: nothing final, the customer may retry
    result = await ADAPTER.verify_return(gctx, cancelled,
                                         _posted(gctx, cancelled, ReturnKind.FAIL))
    assert (result.outcome, result.customer_message) == (Outcome.PENDING, NOT_CONFIRMED)

    declined = _payment()
    await ADAPTER.start_checkout(gctx, declined)
    stand.sim.act(declined.transaction_id, "fail")
    result = await ADAPTER.verify_return(gctx, declined, _posted(gctx, declined,
                                                                 ReturnKind.FAIL))
    assert result.outcome is Outcome.FAILED and result.customer_message == DECLINED
    assert result.reason and "aamarPay status Failed (status_code 7" in result.reason
    assert ADAPTER.describe_failure(result.reason) == DECLINED


async def test_a_return_token_of_another_kind_or_attempt_is_not_ours(
    gctx: GatewayContext, stand: Stand,
) -> None:
    payment = _payment()
    await ADAPTER.start_checkout(gctx, payment)
    other_attempt = replace(payment, attempts=1)
    token = return_token(gctx, other_attempt, ReturnKind.CANCEL)
    result = await ADAPTER.verify_return(gctx, payment, {"return_token": token})
    assert result.outcome is Outcome.PENDING and result.customer_message is None
    forged = {"return_token": "cancel-" + "0" * 32}
    assert (await ADAPTER.verify_return(gctx, payment, forged)).customer_message is None


async def test_expiry_never_closes_what_aamarpay_may_still_take(
    gctx: GatewayContext, stand: Stand,
) -> None:
    payment = _payment()
    await ADAPTER.start_checkout(gctx, payment)
    assert (await ADAPTER.cancel_provider_payment(gctx, payment)).outcome is Outcome.UNKNOWN
    stand.sim.act(payment.transaction_id, "fail")
    assert (await ADAPTER.cancel_provider_payment(gctx, payment)).outcome is Outcome.CANCELLED
    paid = _payment()
    await ADAPTER.start_checkout(gctx, paid)
    stand.sim.act(paid.transaction_id, "success")
    assert (await ADAPTER.cancel_provider_payment(gctx, paid)).outcome is Outcome.SUCCEEDED


async def test_unknown_transaction_and_timeouts(gctx: GatewayContext, stand: Stand) -> None:
    result = await ADAPTER.query_status(gctx, _payment())
    assert result.outcome is Outcome.UNKNOWN
    assert result.reason and "Invalid Request ID" in result.reason
    payment = _payment()
    stand.sim.delay_request = 2.0  # registered at aamarPay, answer lost
    with pytest.raises(ProviderMayHaveActed):
        await ADAPTER.start_checkout(gctx, payment)
    assert payment.transaction_id in stand.sim.transactions
    stand.sim.delay_request = 0.0


def test_amounts_are_exact() -> None:
    assert to_aamarpay_amount(125050, "BDT") == "1250.50"
    assert to_aamarpay_amount(1, "usd") == "0.01"
    assert from_aamarpay_amount("1250.50", "BDT") == 125050
    assert from_aamarpay_amount(10, "USD") == 1000
    for bad in ("1250.505", "abc", "", None, True, "-1", "1e3x"):
        assert from_aamarpay_amount(bad, "BDT") is None
    assert from_aamarpay_amount("10", "EUR") is None


def test_answers() -> None:
    assert payment_url({"result": "true", "payment_url": "https://x.example/p?track=1"})
    assert payment_url({"result": "false", "payment_url": "https://x.example/p"}) is None
    assert payment_url("Invalid Store ID") is None
    assert refusal("Invalid Store ID") == "Invalid Store ID"
    assert refusal({"result": "failed", "errors": "cus_phone is required"}) == (
        "cus_phone is required")
    contradictory = map_verify({"pay_status": "Successful", "status_code": "7",
                                "pg_txnid": "AAM1", "mer_txnid": "txn_1", "amount": "1.00",
                                "currency": "BDT"}, operation="search")
    assert contradictory.outcome is Outcome.UNKNOWN
    assert map_verify({"pay_status": "Successful", "status_code": 2, "pg_txnid": "AAM1",
                       "mer_txnid": "txn_1", "amount": "1.00", "currency": "BDT"},
                      operation="search").outcome is Outcome.SUCCEEDED
    assert describe_failure("something else") is None


async def test_the_signature_key_never_reaches_a_log_line(
    gctx: GatewayContext, stand: Stand,
) -> None:
    payment = _payment()
    with capture_logs() as logs:
        await ADAPTER.start_checkout(gctx, payment)
        stand.sim.down = True  # failing calls log their (redacted) request and answer
        with pytest.raises(GatewayError):
            await ADAPTER.query_status(gctx, payment)
        with pytest.raises(GatewayError):
            await ADAPTER.start_checkout(gctx, _payment())
        stand.sim.down = False
    calls = [line for line in logs if line["event"] == "provider_call"]
    assert len(calls) == 3
    text = repr(logs)
    assert CREDENTIALS["signature_key"] not in text
    assert "01770618575" not in text and "rahim@example.com" not in text
