"""Request validation and response shapes for payment intents.

The create body is validated by hand rather than by a Pydantic model so that (a) every bad
field is reported at once with the human messages of the spec ("The amount field is
required.") and (b) amounts stay exact Decimals from the JSON text onward.  The Pydantic
models below describe the same contract for the OpenAPI document.

Size: over 400 lines on purpose -- the hand validation and the OpenAPI models are the same
contract, kept side by side so a change to one is seen next to the other.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, Field

from ownpay import money
from ownpay.errors import FieldErrors
from ownpay.urls import BadUrl, normalize_http_url

MAX_EXPIRES_IN = 7 * 86400
MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer every JSON parser reads exactly
MIN_EXPIRES_IN = 60
_LIMITS = {
    "customer_name": 150,
    "customer_phone": 30,
    "order_id": 100,
    "description": 500,
    "gateway": 32,
    "return_url": 2048,
    "cancel_url": 2048,
}
_LABELS = {
    "gateway": "gateway",
    "amount": "amount",
    "currency": "currency",
    "order_id": "order id",
    "customer_name": "customer name",
    "customer_email": "customer email",
    "customer_phone": "customer phone",
    "description": "description",
    "return_url": "return url",
    "cancel_url": "cancel url",
}
REQUIRED = (
    "gateway", "amount", "currency", "order_id", "customer_name", "customer_email", "return_url"
)


@dataclass(frozen=True)
class NewIntent:
    gateway: str
    amount_minor: int
    currency: str
    order_id: str
    customer_name: str
    customer_email: str
    customer_phone: str | None
    description: str | None
    return_url: str
    cancel_url: str | None
    metadata: dict[str, Any] | None
    expires_in: int | None


def _url(value: str | None, field: str, add: Any) -> str | None:
    """The URL as ``urls.normalize_http_url`` re-serialises it (ASCII host), or None with an
    error added."""
    if value is None:
        return None
    try:
        return normalize_http_url(value)
    except BadUrl as exc:
        reason = str(exc)
        generic = f"The {_LABELS[field]} must be an absolute http(s) URL."
        add(field, generic if reason == "The URL must be an absolute http(s) URL."
            else f"{generic} {reason}")
        return None


def _email_ok(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _validate_metadata(value: Any, add: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        add("metadata", "The metadata must be an object.")
        return None
    if len(value) > 50:
        add("metadata", "The metadata may have at most 50 keys.")
    clean: dict[str, Any] = {}
    for key, item in value.items():
        if not key or len(key) > 40:
            add("metadata", f"Metadata key '{key[:40]}' must be 1 to 40 characters.")
            continue
        if isinstance(item, Decimal):
            # The JSON reader bounded the exponent, so int() here is cheap.
            whole = item == item.to_integral_value() and "." not in str(item)
            item = int(item) if whole else float(item)
        if item is not None and not isinstance(item, str | int | float | bool):
            add("metadata",
                f"Metadata value for '{key}' must be a string, number, boolean or null.")
            continue
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_SAFE_INTEGER:
            # Beyond 2**53 - 1 receivers' JSON parsers (JavaScript's among them) round it.
            add("metadata", f"Metadata number for '{key}' must be between -{MAX_SAFE_INTEGER} "
                            f"and {MAX_SAFE_INTEGER}; send larger numbers as strings.")
            continue
        if isinstance(item, float) and not math.isfinite(item):
            add("metadata", f"Metadata number for '{key}' is out of range.")
            continue
        if isinstance(item, str) and len(item) > 500:
            add("metadata", f"Metadata value for '{key}' must be at most 500 characters.")
            continue
        clean[key] = item
    return clean


validate_metadata = _validate_metadata  # the same rules for a customer's metadata


def validate_create(
    body: dict[str, Any], *, max_minor: int, required: Collection[str] = REQUIRED,
    strict: bool = True,
) -> tuple[NewIntent | None, dict[str, list[str]]]:
    """Validate every field; return the clean intent or the full error map.

    The payment-intents API uses the defaults; a compatibility facade may ask for fewer
    ``required`` fields (a missing text is then "") and ignore unknown ones (``strict``)."""
    errors = FieldErrors()
    add = errors.add
    if strict:
        errors.refuse_unknown(body, PaymentIntentCreate.model_fields)

    def text(field: str) -> str | None:
        value = body.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if field in required:
                add(field, f"The {_LABELS[field]} field is required.")
            return None
        if not isinstance(value, str):
            add(field, f"The {_LABELS[field]} must be a string.")
            return None
        value = value.strip()
        limit = _LIMITS.get(field)
        if limit and len(value) > limit:
            add(field, f"The {_LABELS[field]} may not be greater than {limit} characters.")
            return None
        return value

    gateway = text("gateway")
    currency_raw = body.get("currency")
    currency: str | None = None
    if currency_raw is None or (isinstance(currency_raw, str) and not currency_raw.strip()):
        add("currency", "The currency field is required.")
    elif not isinstance(currency_raw, str) or not money.is_currency(currency_raw.strip()):
        add("currency", "Invalid currency code.")
    else:
        currency = currency_raw.strip().upper()

    amount_minor: int | None = None
    raw_amount = body.get("amount")
    if raw_amount is None or (isinstance(raw_amount, str) and not raw_amount.strip()):
        add("amount", "The amount field is required.")
    else:
        try:
            number = money.to_decimal(raw_amount)
            if currency is not None:
                amount_minor = money.parse_minor(number, currency, max_minor=max_minor)
            elif number <= 0:
                add("amount", "The amount must be greater than 0.")
        except money.AmountError as exc:
            add("amount", str(exc))

    order_id = text("order_id")
    customer_name = text("customer_name")
    customer_email = text("customer_email")
    if customer_email is not None:
        if len(customer_email) > 254 or not _email_ok(customer_email):
            add("customer_email", "The customer email must be a valid email address.")
            customer_email = None
    customer_phone = text("customer_phone")
    description = text("description")
    return_url = _url(text("return_url"), "return_url", add)
    cancel_url = _url(text("cancel_url"), "cancel_url", add)
    metadata = _validate_metadata(body.get("metadata"), add)

    expires_in: int | None = None
    raw_expires = body.get("expires_in")
    if raw_expires is not None:
        if isinstance(raw_expires, bool) or not isinstance(raw_expires, int | Decimal) or (
            isinstance(raw_expires, Decimal) and raw_expires != raw_expires.to_integral_value()
        ):
            add("expires_in", "The expires in must be a whole number of seconds.")
        elif not MIN_EXPIRES_IN <= raw_expires <= MAX_EXPIRES_IN:  # no int() of 1e300000
            add("expires_in", f"The expires in must be between {MIN_EXPIRES_IN} and "
                              f"{MAX_EXPIRES_IN} seconds.")
        else:
            expires_in = int(raw_expires)

    if errors:
        return None, errors.as_dict()
    assert currency and amount_minor and return_url  # noqa: S101
    return (
        NewIntent(
            gateway=gateway or "",
            amount_minor=amount_minor,
            currency=currency,
            order_id=order_id or "",
            customer_name=customer_name or "",
            customer_email=customer_email or "",
            customer_phone=customer_phone,
            description=description,
            return_url=return_url,
            cancel_url=cancel_url,
            metadata=metadata,
            expires_in=expires_in,
        ),
        {},
    )


# ---- OpenAPI descriptions (the contract, for /docs) ---------------------------------------

# The examples of shared/spec/initiate-payment.md, verbatim.
SPEC_CREATE_EXAMPLE: dict[str, Any] = {
    "gateway": "stripe",
    "amount": 99.99,
    "currency": "USD",
    "order_id": "ORDER-20240615-001",
    "customer_name": "Jane Smith",
    "customer_email": "jane@example.com",
    "customer_phone": "+1-555-0100",
    "description": "Annual subscription — Professional Plan",
    "return_url": "https://yoursite.com/order/success",
    "cancel_url": "https://yoursite.com/order/cancel",
    "metadata": {"user_id": "42", "plan": "professional"},
}
SPEC_CREATED_EXAMPLE: dict[str, Any] = {
    "success": True,
    "transaction_id": "txn_9f2c3a4b5d6e7f8a",
    "payment_url": "https://pay.yourstore.com/checkout/txn_9f2c3a4b5d6e7f8a",
    "status": "pending",
    "expires_at": "2024-06-15T14:30:00Z",
}
STATUSES_TEXT = ("`pending`, `processing`, `awaiting_verification` (an offline payment waits "
                 "for an operator), `completed`, `failed`, `cancelled`, `expired`, "
                 "`partially_refunded`, `refunded`")
SUBMISSION_DESCRIPTION = (
    "What the customer entered on the checkout page for an offline payment, field name → "
    "text (a `manual` gateway's configured fields, e.g. the account they paid from and the "
    "transaction id they received), for the operator who approves or rejects it; `null` "
    "until something was submitted.  Never a secret: gateways refuse to ask for PINs, "
    "passwords or one-time codes.")


class PaymentIntentCreate(BaseModel):
    """Body of ``POST /api/v1/payment-intents``. Unknown fields are a `VALIDATION_ERROR`."""

    gateway: str = Field(
        max_length=32, examples=["stripe"],
        description="Gateway slug (e.g. `stripe`, `bkash`, `manual`, `sandbox`); it must be "
        "configured and active for the key's merchant and mode.")
    amount: Decimal | str = Field(
        examples=[99.99],
        description="Amount in major units as a JSON number or numeric string; > 0, at most "
        "the currency's decimals (USD 2, JPY 0, KWD 3).")
    currency: str = Field(description="ISO 4217 code, case-insensitive.", examples=["USD"])
    order_id: str = Field(
        max_length=100, examples=["ORDER-20240615-001"],
        description="Your unique order/invoice reference. Several intents may share it until "
        "one is paid; after that a new one is 409 `ORDER_ALREADY_PAID`.")
    customer_name: str = Field(
        max_length=150, examples=["Jane Smith"],
        description="Customer's full name, shown on the checkout page.")
    customer_email: str = Field(
        examples=["jane@example.com"],
        description="Customer's email address; must be a valid address.")
    customer_phone: str | None = Field(
        default=None, max_length=30, examples=["+1-555-0100"],
        description="Customer's phone number, free-form.")
    description: str | None = Field(
        default=None, max_length=500,
        description="Payment description shown on the checkout page.")
    return_url: str = Field(
        description="Absolute http(s) URL; the customer returns here with `transaction_id`, "
        "`order_id` and `status` appended.")
    cancel_url: str | None = Field(
        default=None,
        description="Absolute http(s) URL for cancellation; defaults to `return_url` with "
        "`status=cancelled`.")
    metadata: dict[str, str | int | float | bool | None] | None = Field(
        default=None,
        description="Arbitrary key-value pairs stored with the transaction and sent in its "
        "webhooks: up to 50 keys (≤ 40 chars); values are strings (≤ 500 chars), booleans, "
        "null or numbers, integers within ±9007199254740991 (2^53 - 1: send larger ones as "
        "strings).")
    expires_in: int | None = Field(
        default=None, ge=MIN_EXPIRES_IN, le=MAX_EXPIRES_IN,
        description="Link lifetime in seconds (default: the merchant's, else 1800).")

    model_config = {"json_schema_extra": {"example": SPEC_CREATE_EXAMPLE}, "extra": "forbid"}


class PaymentIntentCreated(BaseModel):
    """``201 Created``: where to send the customer."""

    success: Literal[True] = Field(default=True, description="Always `true`.")
    transaction_id: str = Field(
        examples=["txn_9f2c3a4b5d6e7f8a"],
        description="OwnPay's unique transaction identifier (`txn_` + 16 hex digits); use it "
        "in every later call.")
    payment_url: str = Field(
        examples=["https://pay.yourstore.com/checkout/txn_9f2c3a4b5d6e7f8a"],
        description="Redirect the customer to this URL to complete payment (the hosted "
        "checkout page).")
    status: Literal["pending"] = Field(
        default="pending", description="Always `pending` on creation.")
    expires_at: str = Field(
        examples=["2024-06-15T14:30:00Z"],
        description="ISO 8601 (UTC): the link expires after this time and the intent "
        "becomes `expired`.")


class StatusChange(BaseModel):
    """One entry of a payment's status history."""

    from_status: str | None = Field(
        examples=["pending"],
        description="The status before; `null` for the first entry (the creation).")
    to_status: str = Field(description="The status after.", examples=["completed"])
    actor: str = Field(
        examples=["customer via stripe"],
        description="Who made the change: `api` (the creation), `customer via <gateway>`, "
        "`gateway:<slug>`, `worker:expiry`, `merchant:key:<id>`, `operator:key:<id>`, "
        "`operator:cli`, …")
    reason: str | None = Field(
        description="Why, when known: e.g. `cancelled by merchant`, a gateway's decline "
        "reason, a refund's id and amount.")
    at: str = Field(description="When, ISO 8601 (UTC).", examples=["2024-06-15T14:22:45Z"])


class Customer(BaseModel):
    """The customer, as given when the intent was created."""

    name: str = Field(description="Customer's full name.", examples=["Jane Smith"])
    email: str = Field(description="Customer's email address.", examples=["jane@example.com"])
    phone: str | None = Field(
        description="Customer's phone number; `null` if none was given.",
        examples=["+1-555-0100"])


class PaymentIntentOut(BaseModel):
    """A payment intent as it stands now, with its whole status history."""

    transaction_id: str = Field(
        description="OwnPay's transaction identifier.", examples=["txn_9f2c3a4b5d6e7f8a"])
    status: str = Field(description=f"One of {STATUSES_TEXT}.", examples=["completed"])
    mode: Literal["test", "live"] = Field(
        description="The mode of the API key that created it.")
    gateway: str = Field(
        description="The gateway slug the customer pays through.", examples=["stripe"])
    amount: float = Field(description="Major units, as a JSON number.", examples=[99.99])
    currency: str = Field(description="ISO 4217 code, upper case.", examples=["USD"])
    order_id: str = Field(
        description="Your order reference, as given.", examples=["ORDER-20240615-001"])
    customer: Customer = Field(description="The customer, as given.")
    description: str | None = Field(
        description="Shown on the checkout page; `null` if none was given.")
    metadata: dict[str, Any] = Field(
        description="Your key-value pairs, as given; `{}` if none (as in the webhooks).")
    payment_url: str = Field(description="The hosted checkout page of this intent.")
    return_url: str = Field(description="Where the customer returns after paying.")
    cancel_url: str | None = Field(
        description="Where the customer goes on cancelling; `null`: `return_url` with "
        "`status=cancelled`.")
    provider_reference: str | None = Field(
        description="The gateway's id of the current attempt (e.g. a Stripe PaymentIntent "
        "`pi_…`, a bKash paymentID), once one was started.")
    provider_transaction_id: str | None = Field(
        description="The provider's transaction id once known (e.g. a Stripe charge, a bKash "
        "trxID, or the reference a customer entered for an offline payment).")
    failure_reason: str | None = Field(
        description="Why the last attempt failed (status `failed`); else `null`.")
    customer_submission: dict[str, str] | None = Field(
        description=SUBMISSION_DESCRIPTION,
        examples=[{"sender_account": "01700-000000", "provider_txn_id": "8N7A6B5C4D"}])
    created_at: str = Field(description="ISO 8601 (UTC).", examples=["2024-06-15T14:00:00Z"])
    expires_at: str = Field(
        description="ISO 8601 (UTC): the link expires after this time.",
        examples=["2024-06-15T14:30:00Z"])
    paid_at: str | None = Field(
        description="ISO 8601 (UTC): when the payment completed; `null` until then.",
        examples=["2024-06-15T14:22:45Z"])
    fee: float | None = Field(
        description="Our fee (major units), set when the payment completes (see the fee "
        "rules).")
    net_amount: float | None = Field(
        description="`amount` - `fee`, set when the payment completes.")
    refunded_amount: float = Field(description="Sum of completed refunds (major units).")
    status_history: list[StatusChange] = Field(
        description="Every status change, oldest first, starting with the creation.")


class ReasonBody(BaseModel):
    """Optional body of cancel, approve and reject."""

    model_config = {"extra": "forbid"}

    reason: str | None = Field(
        default=None, max_length=500,
        description="Why; kept in the status history (and sent in the webhook of a "
        "cancellation or failure).")
