"""The customers API's bodies, as ``/docs`` describes them (``customers/service.py``
``check_details`` checks them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

_META = ("Up to 50 keys of 1 to 40 characters; values are strings (at most 500 characters), "
         "numbers, booleans or null.")
_PHONE = ("A phone number, normalised to E.164: `+8801712345678`, `01712345678` and "
          "`0171 234 5678` are one number (default region BD). ASCII digits only.")


class CustomerCreate(BaseModel):
    """Body of `POST /api/v1/customers`: at least one of `name`, `email` or `phone`. An
    e-mail or phone another customer of the brand (in this mode) has is refused. Unknown
    fields are a `VALIDATION_ERROR`."""

    model_config = {"extra": "forbid"}

    name: str | None = Field(default=None, max_length=150, examples=["Ayesha Rahman"],
                             description="The customer's name (at most 150 characters).")
    email: str | None = Field(default=None, max_length=254, examples=["ayesha@example.com"],
                              description="An e-mail address; matched case-insensitively.")
    phone: str | None = Field(default=None, max_length=40, examples=["01712-345678"],
                              description=_PHONE)
    metadata: dict[str, str | int | float | bool | None] | None = Field(
        default=None, examples=[{"crm_id": "C-1042"}], description=_META)


class CustomerUpdate(BaseModel):
    """Body of `PATCH /api/v1/customers/{customer_id}`: only the fields sent change (at least
    one); `null` clears one. A forgotten customer cannot change."""

    model_config = {"extra": "forbid"}

    name: str | None = Field(default=None, max_length=150, description="A new name.")
    email: str | None = Field(default=None, max_length=254, description="A new e-mail.")
    phone: str | None = Field(default=None, max_length=40, description="A new phone. "
                              + _PHONE)
    metadata: dict[str, str | int | float | bool | None] | None = Field(
        default=None, description="New metadata (replaces the old). " + _META)


class CustomerOut(BaseModel):
    """A customer. After `forget`, `name`, `email` and `phone` are `null`, `metadata` is
    empty and `forgotten` is true."""

    id: str = Field(description="`cus_` and 16 hex digits.", examples=["cus_4f1a2b3c4d5e6f70"])
    name: str | None = Field(description="The name.", examples=["Ayesha Rahman"])
    email: str | None = Field(description="The e-mail, as given.",
                              examples=["ayesha@example.com"])
    phone: str | None = Field(description="The phone in E.164.", examples=["+8801712345678"])
    metadata: dict[str, str | int | float | bool | None] = Field(description="Metadata.")
    mode: Literal["test", "live"] = Field(description="The API key's mode it belongs to.")
    forgotten: bool = Field(description="Whether its details were erased.")
    created_at: str = Field(description="When it was made (UTC).")
    updated_at: str = Field(description="When it last changed (UTC).")
    forgotten_at: str | None = Field(description="When it was forgotten (UTC), or `null`.")


class CustomerList(BaseModel):
    """One page of customers, newest first."""

    data: list[CustomerOut] = Field(description="Customers, newest first.")
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(
        description="Pass as `starting_after` for the next page; `null` on the last page.")


class CustomerRefund(BaseModel):
    """A refund of one of the customer's payments."""

    id: str = Field(description="The refund's id (`rf_…`).")
    status: str = Field(description="`pending`, `completed` or `failed`.")
    amount: str = Field(description="The amount refunded or being refunded.",
                        examples=["100.00"])
    created_at: str = Field(description="When it was asked for (UTC).")


class CustomerPayment(BaseModel):
    """One of the customer's payments, with its refunds."""

    transaction_id: str = Field(description="The payment (`txn_…`).",
                                examples=["txn_0123456789abcdef"])
    status: str = Field(description="The payment's status.", examples=["completed"])
    amount: str = Field(description="The amount.", examples=["1250.00"])
    currency: str = Field(description="ISO 4217 code.", examples=["BDT"])
    refunded_amount: str = Field(description="How much of it was refunded.",
                                 examples=["0.00"])
    order_id: str = Field(description="The merchant's order id.")
    gateway: str = Field(description="The gateway (`\"\"` while the customer chooses).")
    created_at: str = Field(description="When it was made (UTC).")
    paid_at: str | None = Field(description="When it was paid (UTC), or `null`.")
    refunds: list[CustomerRefund] = Field(description="Its refunds, oldest first.")


class CustomerPaymentList(BaseModel):
    """One page of a customer's payments, newest first. (Invoices will be listed once
    OwnPay has them.)"""

    data: list[CustomerPayment] = Field(description="Payments, newest first.")
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(
        description="Pass as `starting_after` for the next page; `null` on the last page.")
