"""The OpenAPI models of the PipraPay facade (``compat/piprapay.py``): what /docs shows.
The routes write their answers themselves (the exact shapes the clients read)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ChargeCreate(BaseModel):
    """Body of ``POST /api/create-charge``: every field is required.  Others are ignored."""

    full_name: str = Field(max_length=150, description="The customer's name.")
    email_mobile: str = Field(description="The customer's email (with `@`) or phone.")
    amount: str | float = Field(description="> 0; at most the currency's decimals.",
                                examples=["100.00"])
    currency: str = Field(description="ISO 4217, e.g. `BDT`.")
    metadata: dict[str, Any] = Field(description="Returned as given (the WHMCS module "
                                     "sends `invoiceid`).")
    redirect_url: str = Field(description="Where the customer returns, with `pp_id`.")
    cancel_url: str = Field(description="Where a customer who cancels returns.")
    webhook_url: str = Field(description="This payment's webhook: the verify-payments body "
                             "is POSTed here with the `mh-piprapay-api-key` header.")
    return_type: str = Field(description="`GET` (`pp_id` in the query) or `POST` (`pp_id` "
                             "as a posted form field).")


class ChargeCreated(BaseModel):
    status: bool = Field(description="`true`.")
    pp_id: str = Field(description="The payment's UUID: what verify-payments takes.")
    pp_url: str = Field(description="Redirect the customer here.")


class Outcome(BaseModel):
    status: bool = Field(description="`false`.")
    message: str = Field(description="What is wrong, for a person.")


class VerifyRequest(BaseModel):
    pp_id: str = Field(description="The `pp_id` create-charge answered.")


class VerifyPayment(BaseModel):
    pp_id: str = Field(description="The payment's UUID.")
    customer_name: str = Field(description="As given.")
    customer_email_mobile: str = Field(description="As given.")
    payment_method: str = Field(description="The gateway's slug.")
    amount: str = Field(description="Decimal string, e.g. `\"100.00\"`.")
    fee: str = Field(description="Our fee (paid by the merchant).")
    refund_amount: str = Field(description="Refunded so far.")
    total: str = Field(description="What the customer paid (the amount).")
    currency: str = Field(description="ISO 4217.")
    metadata: dict[str, Any] = Field(description="As given.")
    sender_number: str = Field(description="The sender's account or phone, if known.")
    transaction_id: str = Field(description="Our transaction id (`txn_…`).")
    status: str = Field(description="`completed` or `refunded` (the webhook also sends "
                        "`pending` and `failed`).")
    date: str = Field(description="`YYYY-MM-DD HH:MM:SS`, UTC: paid at, else created at.")
