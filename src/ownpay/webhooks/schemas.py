"""OpenAPI shapes of the webhooks API and of the events it sends.

Validation itself is in the service, so that every bad field is reported at once; these
models describe the same contract for ``/docs``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

# The payment events OwnPay sends (also the OpenAPI document's `webhooks`).
PaymentEventName = Literal[
    "payment.pending",
    "payment.processing",
    "payment.awaiting_verification",
    "payment.completed",
    "payment.failed",
    "payment.cancelled",
    "payment.expired",
    "payment.partially_refunded",
    "payment.refunded",
]
PAYMENT_EVENTS: tuple[str, ...] = get_args(PaymentEventName)
# Every event type an endpoint may subscribe to ("*": all of them); ``service.EVENT_TYPES``
# is this list.  Literal flattens the nested PaymentEventName.
EventName = Literal[
    "*",
    PaymentEventName,
    "refund.failed",
    "link.visited",
    "link.paid",
    "invoice.paid",
    "invoice.overdue",
    "device.offline",
]
DeliveryStatus = Literal["pending", "retrying", "succeeded", "dead", "cancelled"]
EVENTS_TEXT = ('Event types to receive, or `["*"]` for every type (including types added '
               "later).")


SCHEME_TEXT = ("How deliveries are shaped and signed: `ownpay` (the event as documented, "
               "`X-OwnPay-Signature: sha256=<hex of HMAC(secret, timestamp.body)>`) or "
               "`ownpay-legacy` for the clients of OwnPay's merchant API — the flat body of "
               "docs/compatibility.md, `X-OwnPay-Signature: <hex of HMAC(secret, body)>`, and "
               "only `payment.completed`, `payment.failed`, `payment.cancelled` and "
               "`refund.completed`. Both carry `X-OwnPay-Timestamp` and the Standard Webhooks "
               "headers.")


class WebhookEndpointCreate(BaseModel):
    """Body of ``POST /api/v1/webhook-endpoints``. Unknown fields are a `VALIDATION_ERROR`."""

    model_config = {"extra": "forbid"}

    url: str = Field(
        max_length=2048, examples=["https://shop.example/ownpay/webhooks"],
        description="https:// URL (http:// is accepted in test mode only). Private, loopback "
        "and other internal addresses are refused (unless the installation allows them).")
    events: list[EventName] = Field(
        default=["*"], description=EVENTS_TEXT + " Default `[\"*\"]`.")
    description: str | None = Field(
        default=None, max_length=500, examples=["order fulfilment"],
        description="Your note about the endpoint.")
    scheme: Literal["ownpay", "ownpay-legacy"] = Field(
        default="ownpay", description=SCHEME_TEXT + " Default `ownpay`.")


class WebhookEndpointUpdate(BaseModel):
    """Body of ``PATCH /api/v1/webhook-endpoints/{endpoint_id}``: only the fields sent
    change; at least one is needed. Unknown fields are a `VALIDATION_ERROR`."""

    model_config = {"extra": "forbid"}

    url: str | None = Field(default=None, max_length=2048,
                            description="A new URL (same rules as on creation).")
    events: list[EventName] | None = Field(default=None, description=EVENTS_TEXT)
    description: str | None = Field(default=None, max_length=500,
                                    description="Your note; `null` clears it.")
    enabled: bool | None = Field(
        default=None, description="`false` stops new deliveries (already queued ones wait "
        "until it is `true` again).")
    scheme: Literal["ownpay", "ownpay-legacy"] | None = Field(
        default=None, description=SCHEME_TEXT + " Applies to deliveries created from then "
        "on.")


class WebhookEndpointOut(BaseModel):
    """A webhook endpoint (never with its secret)."""

    id: str = Field(examples=["we_5f0c3a9e2b7d4c1a8e6f0b3d"],
                    description="The endpoint's id (`we_` + 24 hex digits).")
    url: str = Field(description="Where events are POSTed.",
                     examples=["https://shop.example/ownpay/webhooks"])
    events: list[str] = Field(description='The subscribed event types, or `["*"]`.',
                              examples=[["payment.completed", "payment.failed"]])
    description: str | None = Field(description="Your note; `null` if none.")
    enabled: bool = Field(description="Whether new events are delivered to it.")
    scheme: Literal["ownpay", "ownpay-legacy"] = Field(description=SCHEME_TEXT)
    mode: Literal["test", "live"] = Field(
        description="The mode of the key that created it: it receives that mode's events "
        "only.")
    created_at: str = Field(description="ISO 8601 (UTC).", examples=["2024-06-15T14:00:00Z"])
    updated_at: str = Field(description="ISO 8601 (UTC): the last change.")
    previous_secret_expires_at: str | None = Field(
        description="While set, deliveries are also signed with the secret replaced by the "
        "last rotation (a second, space-separated signature); ISO 8601 (UTC).")


class WebhookEndpointWithSecret(WebhookEndpointOut):
    """The endpoint with its signing secret: only when created and when rotated."""

    secret: str = Field(description="The signing secret. Shown only in this response.",
                        examples=["whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="])


class WebhookEndpointList(BaseModel):
    """All endpoints of the key's merchant and mode."""

    data: list[WebhookEndpointOut] = Field(description="Oldest first.")


class WebhookEndpointDeleted(BaseModel):
    """``DELETE`` answer."""

    id: str = Field(description="The deleted endpoint's id.",
                    examples=["we_5f0c3a9e2b7d4c1a8e6f0b3d"])
    deleted: bool = Field(description="Always `true`.")


class WebhookAttemptOut(BaseModel):
    """One try of a delivery."""

    number: int = Field(description="1 for the first attempt, then 2, 3, …")
    started_at: str = Field(description="ISO 8601 (UTC).")
    duration_ms: int = Field(description="From the start until the answer (or the error).")
    success: bool = Field(description="`true` when the receiver answered 2xx in time.")
    status_code: int | None = Field(
        description="The receiver's HTTP status; `null` when there was no answer.")
    response_body: str | None = Field(description="The first 2 KiB of the receiver's answer.")
    error: str | None = Field(description="Timeout, connection error, refused address, …")


class WebhookDeliveryOut(BaseModel):
    """One event to one endpoint: every attempt of it shares the id."""

    id: str = Field(description="Sent as `X-OwnPay-Delivery` and `webhook-id`; the same for "
                    "every attempt.", examples=["dlv_0e4b7c2a9f1d3e5b6a8c7d9e"])
    endpoint_id: str = Field(description="The endpoint it goes to.")
    event_id: str = Field(description="The event's `id` (also in the body).",
                          examples=["evt_5c1d9e7a3b2f4c6d8e0a1b2c"])
    event_type: str = Field(description="The event type (also in `X-OwnPay-Event`).",
                            examples=["payment.completed"])
    transaction_id: str | None = Field(
        description="The payment the event is about; `null` for events of no payment.")
    mode: Literal["test", "live"] = Field(description="The event's mode.")
    status: DeliveryStatus = Field(
        description="`pending` (not attempted yet), `retrying` (failed; next try at "
        "`next_attempt_at`), `succeeded`, `dead` (retry schedule exhausted; replayable) or "
        "`cancelled` (its endpoint was deleted).")
    attempt_count: int = Field(description="Attempts made so far.")
    next_attempt_at: str | None = Field(
        description="ISO 8601 (UTC) of the next try while `pending` or `retrying`.")
    last_attempt_at: str | None = Field(description="ISO 8601 (UTC) of the last try.")
    last_status_code: int | None = Field(description="The receiver's status at the last try.")
    last_error: str | None = Field(description="The last try's error, if it had no answer.")
    delivered_at: str | None = Field(description="ISO 8601 (UTC) once `succeeded`.")
    created_at: str = Field(description="ISO 8601 (UTC): when the event was queued for it.")


class WebhookDeliveryDetail(WebhookDeliveryOut):
    """A delivery with its body and its attempts."""

    payload: dict[str, Any] = Field(description="The JSON body every attempt sends.")
    attempts: list[WebhookAttemptOut] = Field(description="Every attempt, oldest first.")


class WebhookDeliveryList(BaseModel):
    """One page of the delivery log."""

    data: list[WebhookDeliveryOut] = Field(description="Deliveries, newest first.")
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(
        description="Pass as `starting_after` for the next page; `null` on the last page.")


class WebhookTestRequest(BaseModel):
    """Body of ``POST /api/v1/webhooks/tests``."""

    model_config = {"extra": "forbid"}

    endpoint_id: str = Field(description="The endpoint to ping (disabled ones too).",
                             examples=["we_5f0c3a9e2b7d4c1a8e6f0b3d"])


class WebhookTestResult(BaseModel):
    """What the receiver answered to a `test.ping`."""

    endpoint_id: str = Field(description="The pinged endpoint.")
    delivery_id: str = Field(description="The `X-OwnPay-Delivery` id the ping carried (not "
                             "kept in the delivery log).")
    event: Literal["test.ping"] = Field(description="Always `test.ping`.")
    success: bool = Field(description="`true` when the receiver answered 2xx in time.")
    status_code: int | None = Field(
        description="The receiver's HTTP status; `null` when there was no answer.")
    duration_ms: int = Field(description="From the start until the answer (or the error).")
    response_body: str | None = Field(description="The first 2 KiB of the receiver's answer.")
    error: str | None = Field(description="Timeout, connection error, refused address, …")


# ---- the events OwnPay sends (the OpenAPI document's `webhooks`) ------------------------------

def _absent_unless_set(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # an optional field is left out, never sent as null


def _sometimes(description: str, **extra: Any) -> Any:
    """A payload field present only in some events (absent otherwise, never null)."""
    return Field(default=None, description=description, json_schema_extra=_absent_unless_set,
                 **extra)


class RefundBrief(BaseModel):
    """The refund that moved a payment to `partially_refunded` or `refunded`."""

    id: str = Field(description="The refund's id.", examples=["rf_3c9a0e1b7d5f2a64"])
    amount: float = Field(description="The refund's amount, major units.", examples=[25.5])
    currency: str = Field(description="ISO 4217 code.", examples=["USD"])
    reason: str | None = Field(description="The reason given when it was created.")
    status: Literal["completed"] = Field(description="Always `completed`.")


class PaymentEvent(BaseModel):
    """Body of every `payment.*` event: the spec's `payment.completed` fields plus `id`,
    `mode`, `created_at`, `metadata` and the fields of the event's status."""

    id: str = Field(description="The event's id; the same in every delivery of it.",
                    examples=["evt_5c1d9e7a3b2f4c6d8e0a1b2c"])
    event: PaymentEventName = Field(description="`payment.<status>`: the new status.")
    transaction_id: str = Field(description="The payment.", examples=["txn_9f2c3a4b5d6e7f8a"])
    order_id: str = Field(description="Your order reference.",
                          examples=["ORDER-20240615-001"])
    amount: float = Field(description="The payment's amount, major units.", examples=[99.99])
    currency: str = Field(description="ISO 4217 code.", examples=["USD"])
    status: str = Field(description="The payment's new status.", examples=["completed"])
    paid_at: str | None = Field(description="ISO 8601 (UTC) once the payment completed; "
                                "else `null`.", examples=["2024-06-15T14:22:45Z"])
    gateway: str = Field(description="The gateway slug.", examples=["stripe"])
    mode: Literal["test", "live"] = Field(description="The payment's mode.")
    created_at: str = Field(description="ISO 8601 (UTC): when the event happened.",
                            examples=["2024-06-15T14:22:45Z"])
    metadata: dict[str, Any] = Field(description="Your key-value pairs (`{}` if none).")
    pending_at: str | SkipJsonSchema[None] = _sometimes(
        "`payment.pending` (a failed attempt retried): when.")
    processing_at: str | SkipJsonSchema[None] = _sometimes("`payment.processing`: when.")
    awaiting_verification_at: str | SkipJsonSchema[None] = _sometimes(
        "`payment.awaiting_verification`: when the customer submitted an offline payment.")
    failed_at: str | SkipJsonSchema[None] = _sometimes("`payment.failed`: when.")
    cancelled_at: str | SkipJsonSchema[None] = _sometimes("`payment.cancelled`: when.")
    expired_at: str | SkipJsonSchema[None] = _sometimes("`payment.expired`: when.")
    partially_refunded_at: str | SkipJsonSchema[None] = _sometimes(
        "`payment.partially_refunded`: when.")
    refunded_at: str | SkipJsonSchema[None] = _sometimes("`payment.refunded`: when.")
    reason: str | SkipJsonSchema[None] = _sometimes(
        "`payment.failed` and `payment.cancelled`: why, when known.",
        examples=["card_declined"])
    provider_transaction_id: str | SkipJsonSchema[None] = _sometimes(
        "The provider's transaction id, once known.", examples=["ch_3PQ9xYz"])
    customer_submission: dict[str, str] | SkipJsonSchema[None] = _sometimes(
        "Once the customer submitted an offline payment (`payment.awaiting_verification` and "
        "every later event of that payment): what they entered, field name → text.",
        examples=[{"sender_account": "01700-000000", "provider_txn_id": "8N7A6B5C4D"}])
    refunded_amount: float | SkipJsonSchema[None] = _sometimes(
        "`payment.partially_refunded` and `payment.refunded`: all completed refunds so far, "
        "major units.", examples=[25.5])
    refund: RefundBrief | SkipJsonSchema[None] = _sometimes(
        "`payment.partially_refunded` and `payment.refunded`: the refund that just "
        "completed.")


class DeviceOfflineEvent(BaseModel):
    """Body of `device.offline`: a paired phone has sent no heartbeat and no SMS for
    `OWNPAY_DEVICE_OFFLINE_AFTER` seconds (default 1,800), so wallet SMS are not being
    forwarded; sent once until the phone is heard from again (docs/sms-verification.md)."""

    id: str = Field(description="The event's id; the same in every delivery of it.",
                    examples=["evt_2d4f6a8c0e1b3d5f7a9c1e3b"])
    event: Literal["device.offline"] = Field(description="Always `device.offline`.")
    device_id: str = Field(description="The device.", examples=["dev_4f1a2b3c4d5e6f70"])
    name: str = Field(description="Its name, as paired.", examples=["shop phone"])
    last_seen_at: str | None = Field(description="When it was last heard from (UTC).",
                                     examples=["2026-12-04T18:00:00Z"])
    battery: int | None = Field(description="Its battery level in its last heartbeat, %.",
                                examples=[14])
    mode: Literal["test", "live"] = Field(description="The device's mode.")
    created_at: str = Field(description="When the event was recorded (UTC).",
                            examples=["2026-12-04T18:30:01Z"])


class LinkRef(BaseModel):
    """The payment link a payment was made on."""

    id: str = Field(description="The link's id.", examples=["plink_4f1a2b3c4d5e6f70"])
    slug: str = Field(description="Its page's address part (`/pay/{slug}`).",
                      examples=["eid-gift-box"])
    title: str = Field(description="Its title.", examples=["Eid gift box"])


class LinkPaidEvent(BaseModel):
    """Body of `link.paid`: a payment made on a payment link completed (sent besides its
    `payment.completed`, in the same delivery order; docs/payment-links.md)."""

    id: str = Field(description="The event's id; the same in every delivery of it.",
                    examples=["evt_2d4f6a8c0e1b3d5f7a9c1e3b"])
    event: Literal["link.paid"] = Field(description="Always `link.paid`.")
    link: LinkRef = Field(description="The link.")
    transaction_id: str = Field(description="The payment.", examples=["txn_9f2c3a4b5d6e7f8a"])
    order_id: str = Field(description="The payment's order id (the link's slug and a "
                          "random suffix).", examples=["eid-gift-box-3f9a1c2e"])
    amount: str = Field(description="What was paid, a decimal string.", examples=["1250.00"])
    currency: str = Field(description="ISO 4217 code.", examples=["BDT"])
    gateway: str = Field(description="How it was paid.", examples=["bkash"])
    customer_email: str = Field(description="The payer's e-mail.",
                                examples=["rahim@example.com"])
    metadata: dict[str, Any] = Field(description="`payment_link` and the answers to the "
                                     "link's fields.",
                                     examples=[{"payment_link": "plink_4f1a2b3c4d5e6f70",
                                                "size": "Large"}])
    mode: Literal["test", "live"] = Field(description="The payment's mode.")
    created_at: str = Field(description="When the event was recorded (UTC).",
                            examples=["2026-12-06T18:30:01Z"])


class RefundFailedEvent(BaseModel):
    """Body of `refund.failed`: a refund gave no money back; its amount is refundable
    again. `amount` and `status` are the refund's, not the payment's."""

    id: str = Field(description="The event's id; the same in every delivery of it.",
                    examples=["evt_2d4f6a8c0e1b3d5f7a9c1e3b"])
    event: Literal["refund.failed"] = Field(description="Always `refund.failed`.")
    refund_id: str = Field(description="The refund.", examples=["rf_3c9a0e1b7d5f2a64"])
    transaction_id: str = Field(description="The payment it was refunding.",
                                examples=["txn_9f2c3a4b5d6e7f8a"])
    order_id: str = Field(description="The payment's order reference.",
                          examples=["ORDER-20240615-001"])
    amount: float = Field(description="The refund's amount, major units.", examples=[25.5])
    currency: str = Field(description="ISO 4217 code.", examples=["USD"])
    status: Literal["failed"] = Field(description="The refund's status: always `failed`.")
    reason: str | None = Field(description="Why it failed (the refund's `failure_reason`).",
                               examples=["customer account closed"])
    gateway: str = Field(description="The gateway that was asked.", examples=["stripe"])
    mode: Literal["test", "live"] = Field(description="The refund's mode.")
    refunded_amount: float = Field(
        description="The payment's completed refunds so far (this one not included), major "
        "units.", examples=[0])
    metadata: dict[str, Any] = Field(description="The payment's key-value pairs (`{}` if "
                                     "none).")
    created_at: str = Field(description="ISO 8601 (UTC): when it failed.",
                            examples=["2024-06-16T09:00:05Z"])


class PingEvent(BaseModel):
    """Body of `test.ping`, sent only by ``POST /api/v1/webhooks/tests``."""

    id: str = Field(description="A fresh event id.", examples=["evt_7b9d1f3a5c7e9b1d3f5a7c9e"])
    event: Literal["test.ping"] = Field(description="Always `test.ping`.")
    endpoint_id: str = Field(description="The pinged endpoint.")
    mode: Literal["test", "live"] = Field(description="The endpoint's mode.")
    created_at: str = Field(description="ISO 8601 (UTC).")
