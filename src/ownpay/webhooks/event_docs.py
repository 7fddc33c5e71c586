"""The events OwnPay sends to merchants' endpoints, documented as OpenAPI ``webhooks``
(``/docs``): never served, each a documentation-only route of ``events_router``."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from ownpay.invoices.schemas import InvoiceEvent
from ownpay.webhooks.schemas import (
    DeviceOfflineEvent,
    LinkPaidEvent,
    PaymentEvent,
    PingEvent,
    RefundFailedEvent,
)

events_router = APIRouter(tags=["Events sent to your endpoints"])
_SIGNED_HEADERS = [
    {"name": name, "in": "header", "required": True, "schema": {"type": "string"},
     "description": description}
    for name, description in (
        ("X-OwnPay-Event", "The event type, as in the body's `event`."),
        ("X-OwnPay-Delivery", "The delivery id (`dlv_…`): the same for every retry; "
                              "deduplicate on it."),
        ("X-OwnPay-Timestamp", "Unix seconds when this attempt was signed; reject it if more "
                               "than 5 minutes from your clock."),
        ("X-OwnPay-Signature", "`sha256=` + hex HMAC-SHA256 of `timestamp + \".\" + raw body` "
                               "with the endpoint secret; several, space-separated, during a "
                               "secret rotation."),
        ("webhook-id", "Standard Webhooks: the same value as `X-OwnPay-Delivery`."),
        ("webhook-timestamp", "Standard Webhooks: the same value as `X-OwnPay-Timestamp`."),
        ("webhook-signature", "Standard Webhooks: `v1,<base64>`; several during a rotation."),
    )
]
_RECEIVER_ANSWERS: dict[int | str, dict[str, Any]] = {
    "2XX": {"description": "Received: any 2xx within 10 seconds ends the delivery."},
    "default": {"description": "Anything else (or no answer in 10 s) is a failed attempt: "
                "retried (by default after 5 min, 15 min, 1 h, 6 h, 12 h and 24 h), then "
                "dead-lettered."},
}
_PAYMENT_EVENT_WHEN = {
    "payment.pending": "A customer retries after a failed attempt (the link is still valid).",
    "payment.processing": "The gateway accepted the payment but has not settled it yet.",
    "payment.awaiting_verification": "A customer submitted an offline (`manual`) payment; an "
    "operator must approve or reject it.",
    "payment.completed": "The payment was verified with the gateway: fulfil the order.",
    "payment.failed": "The attempt failed (declined, rejected by an operator, …).",
    "payment.cancelled": "The customer or the merchant cancelled the payment.",
    "payment.expired": "The link expired before the payment completed.",
    "payment.partially_refunded": "A refund completed; money remains paid.",
    "payment.refunded": "A refund completed and the whole amount is now refunded.",
}


def _document_event(name: str, body: type[BaseModel], description: str) -> None:
    async def event(payload: Any) -> None:
        """Documentation only: OwnPay POSTs this; it is not a route of the server."""

    # The body's model is only known here, so the signature FastAPI reads is built here.
    event.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("payload", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           annotation=body)], return_annotation=None)
    events_router.add_api_route(
        name, event, methods=["POST"], summary=name, description=description,
        status_code=200, response_model=None, responses=_RECEIVER_ANSWERS,
        operation_id="event_" + name.replace(".", "_"),
        openapi_extra={"parameters": _SIGNED_HEADERS},
    )


for _name, _when in _PAYMENT_EVENT_WHEN.items():
    _document_event(_name, PaymentEvent, _when)
_document_event("refund.failed", RefundFailedEvent,
                "A refund failed (the gateway refused it, or an operator failed an offline "
                "one): nothing went back to the customer and the amount is refundable again.")
_document_event("device.offline", DeviceOfflineEvent, DeviceOfflineEvent.__doc__ or "")
_document_event("link.paid", LinkPaidEvent, LinkPaidEvent.__doc__ or "")
_document_event("invoice.paid", InvoiceEvent, "An open invoice's completed payments cover "
                "its total (once; besides that payment's `payment.completed`).")
_document_event("invoice.overdue", InvoiceEvent, "An open invoice passed its due date "
                "(once, by the worker, the day after the due date).")
_document_event("test.ping", PingEvent,
                "Sent only by `POST /api/v1/webhooks/tests`, to check a receiver; not stored "
                "in the delivery log.")
