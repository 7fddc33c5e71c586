"""The OpenAPI models of the UddoktaPay facade (``compat/uddoktapay.py``): what /docs shows.
The routes write their answers themselves (the exact shapes the clients read)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CheckoutCreate(BaseModel):
    """Body of ``POST /api/checkout-v2``.  Other fields are ignored."""

    full_name: str = Field(max_length=150, description="The customer's name.")
    email: str = Field(description="The customer's email address.")
    amount: str | float = Field(description="> 0; at most the currency's decimals.",
                                examples=["100.00"])
    currency: str | None = Field(default=None, description="ISO 4217; BDT when absent.")
    metadata: dict[str, Any] | None = Field(
        default=None, description="Returned as given by verify-payment and the IPN.")
    redirect_url: str = Field(description="Where the customer returns, with `invoice_id`.")
    return_type: str | None = Field(
        default=None, description="`GET` (default: `invoice_id` in the query) or `POST` "
        "(`invoice_id` as a posted form field).")
    cancel_url: str | None = Field(default=None, description="Where a customer who "
                                   "cancels returns (default: `redirect_url`).")
    webhook_url: str | None = Field(
        default=None, description="This payment's IPN URL: the verify-payment body is "
        "POSTed here with the `RT-UDDOKTAPAY-API-KEY` header.")


class CheckoutCreated(BaseModel):
    status: bool = Field(description="`true`.")
    message: str = Field(description="`Payment Url`.")
    payment_url: str = Field(description="Redirect the customer here.")


class Outcome(BaseModel):
    status: bool = Field(description="`false` on an error; for a refund, whether it was "
                         "accepted.")
    message: str = Field(description="What happened, for a person.")


class VerifyRequest(BaseModel):
    invoice_id: str = Field(description="The `invoice_id` the return URL carried.")


class VerifyPayment(BaseModel):
    full_name: str = Field(description="The customer's name.")
    email: str = Field(description="The customer's email address.")
    amount: str = Field(description="Decimal string, e.g. `\"100.00\"`.")
    fee: str = Field(description="Our fee (paid by the merchant).")
    charged_amount: str = Field(description="What the customer paid (the amount).")
    invoice_id: str = Field(description="The payment's UUID.")
    metadata: dict[str, Any] = Field(description="As given.")
    payment_method: str = Field(description="The gateway's slug (empty until chosen).")
    sender_number: str = Field(description="The sender's account or phone, if known.")
    transaction_id: str = Field(description="Our transaction id (`txn_…`): what "
                                "refund-payment takes.")
    date: str = Field(description="`YYYY-MM-DD HH:MM:SS`, UTC: paid at, else created at.")
    status: str = Field(description="`COMPLETED`, `PENDING` or `ERROR`.")


class RefundCreate(BaseModel):
    transaction_id: str = Field(description="The verify answer's `transaction_id`.")
    payment_method: str | None = Field(default=None, description="Accepted, ignored.")
    amount: str | float | None = Field(default=None, description="Default: what is left.")
    product_name: str | None = Field(default=None, description="The reason if none given.")
    reason: str | None = Field(default=None, description="At most 500 characters.")
