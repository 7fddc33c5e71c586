"""The OpenAPI models of the OwnPay merchant API (``compat/ownpay_api.py``): what /docs
shows for ``/api/v1/payments``.  The routes write their answers themselves (the exact
shapes the clients read); these describe them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PaymentCreate(BaseModel):
    """Body of ``POST /api/v1/payments``.  Other fields are ignored (the clients send
    some); amounts are exact: at most the currency's decimals."""

    amount: str | float = Field(description="> 0, as a string (`\"150.00\"`) or a number; "
                                "at most the currency's decimals.", examples=["150.00"])
    currency: str = Field(description="ISO 4217 code.", examples=["BDT"])
    callback_url: str | None = Field(
        default=None, description="This payment's webhook URL: its events are POSTed here "
        "in the `ownpay-legacy` scheme, signed with the brand's callback secret. Also the "
        "default `redirect_url` and `cancel_url`.")
    redirect_url: str | None = Field(
        default=None, description="Where the customer returns; `payment_id` and `status` "
        "are appended. Required unless `callback_url` is given.")
    cancel_url: str | None = Field(default=None,
                                   description="Where a customer who cancels returns.")
    customer_email: str | None = Field(default=None, description="Alias `customer_mail`.")
    customer_name: str | None = Field(default=None, max_length=150,
                                      description="At most 150 characters.")
    customer_phone: str | None = Field(default=None, max_length=30,
                                       description="At most 30 characters.")
    reference: str | None = Field(
        default=None, max_length=100, description="Your order or invoice id (also the "
        "description). A second payment of a paid reference is refused (409).")
    gateway: str | None = Field(
        default=None, description="A gateway slug (`sandbox`, `bkash`, `stripe`…). Without "
        "it the customer chooses among the brand's methods on the checkout page.")
    metadata: dict[str, Any] | None = Field(
        default=None, description="Up to 50 keys; strings, numbers, booleans or null.")


class PaymentCreatedData(BaseModel):
    payment_id: str = Field(description="The payment's UUID.")
    token: str = Field(description="An opaque token for the checkout page.")
    checkout_url: str = Field(description="Redirect the customer here.")
    status: str = Field(description="Always `pending`.")


class PaymentCreated(BaseModel):
    success: bool = Field(description="`true`.")
    data: PaymentCreatedData = Field(description="The new payment.")


class CompatErrorItem(BaseModel):
    code: str = Field(description="`INVALID_AMOUNT`, `INVALID_CURRENCY`, "
                      "`INVALID_REDIRECT_URL`, `VALIDATION_FAILED`, `UNAUTHENTICATED`, …")
    message: str = Field(description="What is wrong, for a person.")
    field: str | None = Field(description="The field it is about, if any.")


class CompatError(BaseModel):
    success: bool = Field(description="`false`.")
    error: str = Field(description="The first message.")
    errors: list[CompatErrorItem] = Field(description="Every problem found.")
    request_id: str | None = Field(description="Quote it when asking for help.")


class PaymentCustomer(BaseModel):
    name: str | None = Field(description="As given, or null.")
    email: str | None = Field(description="As given, or null.")


class PaymentData(BaseModel):
    id: str = Field(description="The payment's UUID (`payment_id`).")
    trx_id: str = Field(description="Our transaction id (`txn_…`).")
    gateway_trx_id: str | None = Field(description="The provider's transaction id, once "
                                       "paid.")
    amount: str = Field(description="Decimal string with the currency's decimals.")
    currency: str = Field(description="ISO 4217 code.")
    fee: str = Field(description="Our fee, decimal string (`\"0.00\"` until completed).")
    status: str = Field(description="`pending`, `processing`, `awaiting_verification`, "
                        "`completed`, `failed`, `cancelled`, `expired`, `partially_refunded`, "
                        "`refunded`.")
    gateway: str | None = Field(description="The gateway slug; null until the customer "
                                "chose one.")
    method: str | None = Field(description="The payment method's name as the customer saw "
                               "it.")
    reference: str = Field(description="Your reference (or the payment id if none).")
    created_at: str = Field(description="ISO 8601 (UTC).")
    completed_at: str | None = Field(description="ISO 8601 (UTC), when paid.")
    customer: PaymentCustomer = Field(description="The customer as given.")


class PaymentRead(BaseModel):
    success: bool = Field(description="`true`.")
    data: PaymentData = Field(description="The payment.")
