"""PayPal's answers in our terms, case by case (pure functions, no stand-in): malformed
orders and captures are never a completion, approve links, refunds on an order, messages."""

from __future__ import annotations

from typing import Any

import pytest

from ownpay.gateways.base import Outcome
from ownpay.gateways.paypal import mapping
from ownpay.gateways.paypal.adapter import PayPalGateway

UNIT: dict[str, Any] = {"custom_id": "txn_0123456789abcdef",
                        "amount": {"currency_code": "USD", "value": "49.95"}}
CAPTURE: dict[str, Any] = {"id": "CAP1", "status": "COMPLETED",
                           "amount": {"currency_code": "USD", "value": "49.95"}}


def order(status: str = "COMPLETED", **unit: Any) -> dict[str, Any]:
    return {"id": "ORDER1", "status": status, "purchase_units": [{**UNIT, **unit}]}


def with_captures(*captures: Any) -> dict[str, Any]:
    return order(payments={"captures": list(captures)})


def test_a_completed_capture_is_success_with_paypal_s_figures() -> None:
    result = mapping.map_order(with_captures(CAPTURE), operation="t")
    assert result.outcome is Outcome.SUCCEEDED
    assert (result.amount_minor, result.currency, result.reference) == (
        4995, "USD", "txn_0123456789abcdef")
    assert (result.provider_reference, result.provider_txn_id) == ("ORDER1", "CAP1")


@pytest.mark.parametrize("answer", [
    with_captures(), with_captures(CAPTURE, {**CAPTURE, "id": "CAP2"}),
    with_captures({**CAPTURE, "amount": {"currency_code": "USD", "value": "4.995"}}),
    with_captures({**CAPTURE, "amount": {"value": "49.95"}}),
    with_captures({**CAPTURE, "amount": "49.95"}),
    with_captures({**CAPTURE, "status": "completed"}),
    with_captures({**CAPTURE, "status": "REFUNDED"}),
    {"id": "ORDER1", "status": "COMPLETED", "purchase_units": "x"},
    {"id": "ORDER1", "status": "COMPLETED"},
    {"id": "ORDER1", "status": 7},
    order(payments={"captures": "x"}),
], ids=["none", "two", "unrepresentable", "no-currency", "amount-not-object",
        "lower-case", "refunded", "units-not-list", "no-units", "status-not-string",
        "captures-not-list"])
def test_malformed_or_odd_answers_are_unknown(answer: dict[str, Any]) -> None:
    assert mapping.map_order(answer, operation="t").outcome is Outcome.UNKNOWN


def test_a_missing_reference_is_reported_empty_never_none() -> None:
    unit = {"amount": UNIT["amount"], "payments": {"captures": [CAPTURE]}}
    result = mapping.map_order({"id": "O", "status": "COMPLETED", "purchase_units": [unit]},
                               operation="t")
    assert result.outcome is Outcome.SUCCEEDED and result.reference == ""


def test_approve_links() -> None:
    assert mapping.approve_link({"links": "x"}) is None
    assert mapping.approve_link({"links": [{"rel": "self", "href": "s"}, "junk"]}) is None
    legacy = {"links": [{"rel": "approve", "href": "https://paypal.test/a"}]}
    assert mapping.approve_link(legacy) == "https://paypal.test/a"
    both = {"links": [{"rel": "approve", "href": "a"}, {"rel": "payer-action", "href": "b"}]}
    assert mapping.approve_link(both) == "b"


def test_refunds_listed_on_an_order() -> None:
    refund = {"id": "R1", "status": "PENDING", "status_details": {"reason": "ECHECK"},
              "amount": {"currency_code": "JPY", "value": "500"}}
    listed = mapping.order_refunds(order(payments={"refunds": [refund, "junk"]}))
    assert listed == [refund]
    assert mapping.refund_amount(refund) == (500, "JPY")
    assert mapping.refund_amount({"id": "R2"}) == (None, "")
    assert mapping.order_refunds(order()) == []
    assert "ECHECK" in mapping.refund_reason(refund)


def test_amount_edges() -> None:
    with pytest.raises(mapping.AmountNotRepresentable):
        mapping.to_paypal_amount(10 ** 40, "USD")
    with pytest.raises(mapping.AmountNotRepresentable):
        mapping.to_paypal_amount(True, "USD")
    assert mapping.from_paypal_amount("12", "") is None
    assert mapping.from_paypal_amount("Infinity", "USD") is None
    assert mapping.from_paypal_amount("1" * 40, "USD") is None


def test_error_words_and_messages() -> None:
    assert mapping.issue_of("UNPROCESSABLE_ENTITY", [{"issue": "INSTRUMENT_DECLINED"}]) == \
        "INSTRUMENT_DECLINED"
    assert mapping.issue_of("INVALID_REQUEST", [{"field": "x"}]) == "INVALID_REQUEST"
    assert mapping.issue_of(None, None) == "UNKNOWN_ERROR"
    gateway = PayPalGateway()
    assert gateway.describe_failure(None) is None
    assert gateway.describe_failure("Stripe said no") is None
    assert gateway.describe_failure("PayPal order O 'VOIDED' (t): voided") == \
        mapping.NOT_COMPLETED
    assert gateway.describe_failure("customer cancelled at PayPal; x") == \
        mapping.CANCELLED_MESSAGE
    assert gateway.describe_failure("PayPal order O, capture C 'DECLINED'") == mapping.DECLINED
    assert gateway.describe_failure("PayPal did something else") == mapping.GENERIC
    unknown = mapping.capture_refused("SOMETHING_NEW", order_id="O", said="x")
    assert unknown.outcome is Outcome.UNKNOWN
