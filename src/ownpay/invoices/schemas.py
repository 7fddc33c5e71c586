"""The invoice API's bodies, as ``/docs`` describes them (``terms.py`` checks them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

_AMOUNT = ("A decimal string (or number) in the currency's units, exact to its minor unit, "
           "e.g. `\"1250.50\"`.")
_RATE = "A percentage from 0 to 100 with at most 4 decimals, e.g. `\"7.5\"`."


class InvoiceLine(BaseModel):
    """One line item."""

    model_config = {"extra": "forbid"}

    description: str = Field(max_length=500, examples=["ইফতার বক্স (Iftar box)"],
                             description="What is sold (any script; Bangla renders in the PDF).")
    quantity: str | float = Field(default="1", examples=["2.5"],
                          description="Greater than 0, at most 3 decimals.")
    unit_price: str | float = Field(examples=["450.00"], description="The price of one. " + _AMOUNT)
    tax_rate: str | float | None = Field(default=None, description="The line's tax. " + _RATE)
    discount_rate: str | float | None = Field(default=None,
                                      description="The line's discount. " + _RATE)


_LINES = "1 to 100 line items."
_CUSTOMER_ID = "A customer of the brand and mode (`cus_…`)."
_NAME = "The customer's name, shown on the invoice."
_EMAIL = ("The customer's e-mail; without `customer_id`, the invoice's customer is the one "
          "with this e-mail (matched by digest), or a new one.")
_DISCOUNT_AMOUNT = "Off the subtotal (not with `discount_rate`). " + _AMOUNT
_DISCOUNT_RATE = "Off the subtotal. " + _RATE
_TAX_RATE = "On the subtotal after the discount. " + _RATE
_DUE = ("YYYY-MM-DD; `invoice.overdue` is sent once the day after it, if the invoice is still "
        "open.")
_NOTES = "Shown on the page and the PDF."


class InvoiceCreate(BaseModel):
    """Body of `POST /api/v1/invoices`: `currency` and 1 to 100 `lines`; the customer by
    `customer_id`, or by `customer_name` and `customer_email` (matched to a customer, or
    one is made). The invoice is a `draft` with the brand's next number. Unknown fields
    are a `VALIDATION_ERROR`."""

    model_config = {"extra": "forbid"}

    currency: str = Field(examples=["BDT"], description="ISO 4217 code; cannot change later.")
    lines: list[InvoiceLine] = Field(min_length=1, max_length=100, description=_LINES)
    customer_id: str | None = Field(default=None, description=_CUSTOMER_ID)
    customer_name: str | None = Field(default=None, max_length=150, description=_NAME)
    customer_email: str | None = Field(default=None, max_length=254, description=_EMAIL)
    discount_amount: str | float | None = Field(default=None, description=_DISCOUNT_AMOUNT)
    discount_rate: str | float | None = Field(default=None, description=_DISCOUNT_RATE)
    tax_rate: str | float | None = Field(default=None, description=_TAX_RATE)
    due_date: str | None = Field(default=None, examples=["2026-12-31"], description=_DUE)
    notes: str | None = Field(default=None, max_length=2000, description=_NOTES)


class InvoiceUpdate(BaseModel):
    """Body of `PATCH /api/v1/invoices/{id}`: any fields of the create body (not
    `currency`), checked with the draft's other terms; a draft only. `null` clears a
    field."""

    model_config = {"extra": "forbid"}

    lines: list[InvoiceLine] | None = Field(default=None, min_length=1, max_length=100,
                                            description=_LINES)
    customer_id: str | None = Field(default=None, description=_CUSTOMER_ID)
    customer_name: str | None = Field(default=None, max_length=150, description=_NAME)
    customer_email: str | None = Field(default=None, max_length=254, description=_EMAIL)
    discount_amount: str | float | None = Field(default=None, description=_DISCOUNT_AMOUNT)
    discount_rate: str | float | None = Field(default=None, description=_DISCOUNT_RATE)
    tax_rate: str | float | None = Field(default=None, description=_TAX_RATE)
    due_date: str | None = Field(default=None, description=_DUE)
    notes: str | None = Field(default=None, max_length=2000, description=_NOTES)


class InvoiceMove(BaseModel):
    """Optional body of finalize, void and mark-uncollectible."""

    model_config = {"extra": "forbid"}

    reason: str | None = Field(default=None, max_length=500,
                               description="Kept in the invoice's status history.")


class InvoiceCustomer(BaseModel):
    id: str | None = Field(description="The customer (`cus_…`), if any.")
    name: str | None = Field(description="The name shown.")
    email: str | None = Field(description="The e-mail shown.")


class InvoiceLineOut(BaseModel):
    description: str = Field(description="What is sold.")
    quantity: str = Field(description="As given, normalised (`2`, `1.5`).")
    unit_price: str = Field(description="The price of one.")
    tax_rate: str | None = Field(description="The line's tax, percent.")
    discount_rate: str | None = Field(description="The line's discount, percent.")
    amount: str = Field(description="quantity × unit_price, rounded half-up.")
    discount: str = Field(description="amount × discount_rate %, rounded half-up.")
    tax: str = Field(description="(amount − discount) × tax_rate %, rounded half-up.")
    total: str = Field(description="amount − discount + tax.")


class InvoicePayment(BaseModel):
    transaction_id: str = Field(description="A payment made for the invoice.")
    status: str = Field(description="The payment's status.")
    amount: str = Field(description="The payment's amount.")


class InvoiceOut(BaseModel):
    """An invoice. Amounts are decimal strings in the currency's units; the rounding rule
    is in docs/invoices.md."""

    id: str = Field(examples=["inv_0123456789abcdef"], description="The invoice's id.")
    number: str = Field(examples=["INV-000123"], description="Per brand and mode.")
    status: Literal["draft", "open", "paid", "void", "uncollectible"] = Field(
        description="draft → open → paid | void | uncollectible.")
    url: str = Field(description="The customer's page (`/invoice/{token}`), shown once open.")
    pdf_url: str = Field(description="The invoice as a PDF, once open.")
    currency: str = Field(description="ISO 4217 code.")
    customer: InvoiceCustomer = Field(description="Who is billed.")
    lines: list[InvoiceLineOut] = Field(description="The line items with their figures.")
    subtotal: str = Field(description="Σ (line amount − line discount).")
    discount_amount: str | None = Field(description="The fixed discount asked for, if any.")
    discount_rate: str | None = Field(description="The discount rate asked for, if any.")
    discount: str = Field(description="The invoice's own discount.")
    tax_rate: str | None = Field(description="The invoice's tax rate, if any.")
    line_tax: str = Field(description="Σ line tax.")
    tax: str = Field(description="The invoice's own tax.")
    total: str = Field(description="subtotal − discount + line_tax + tax.")
    amount_paid: str = Field(description="What its completed payments add up to.")
    amount_due: str = Field(description="What is left to pay on an open invoice (else 0).")
    due_date: str | None = Field(description="YYYY-MM-DD.")
    notes: str | None = Field(description=_NOTES)
    mode: Literal["test", "live"] = Field(description="The key's mode.")
    payments: list[InvoicePayment] = Field(description="Payments made for it, oldest first.")
    created_at: str = Field(description="UTC.")
    updated_at: str = Field(description="UTC.")
    finalized_at: str | None = Field(description="When it was finalised (UTC).")
    paid_at: str | None = Field(description="When it was paid (UTC).")


class InvoiceList(BaseModel):
    data: list[InvoiceOut] = Field(description="Newest first.")
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(description="`starting_after` for the next page.")


# ---- the events (documented in /docs under "Events sent to your endpoints") ---------------


class InvoiceRef(BaseModel):
    """The invoice, as it is after the change the event reports."""

    id: str = Field(description="The invoice's id.", examples=["inv_4f1a2b3c4d5e6f70"])
    number: str = Field(description="Per brand and mode.", examples=["INV-000123"])
    status: Literal["open", "paid"] = Field(description="`paid` in `invoice.paid`, `open` "
                                            "in `invoice.overdue`.")
    currency: str = Field(description="ISO 4217 code.", examples=["BDT"])
    total: str = Field(description="A decimal string.", examples=["930.60"])
    amount_paid: str = Field(description="What its completed payments add up to.",
                             examples=["930.60"])
    amount_due: str = Field(description="What is left to pay.", examples=["0.00"])
    due_date: str | None = Field(description="YYYY-MM-DD.", examples=["2026-12-31"])
    customer_id: str | None = Field(description="Its customer (`cus_…`).")


class InvoiceEvent(BaseModel):
    """Body of `invoice.paid` (an open invoice's completed payments cover its total; sent
    once, besides the last payment's `payment.completed`, in its delivery order) and
    `invoice.overdue` (an open invoice passed its due date; sent once by the worker the day
    after it). docs/invoices.md."""

    id: str = Field(description="The event's id; the same in every delivery of it.",
                    examples=["evt_2d4f6a8c0e1b3d5f7a9c1e3b"])
    event: Literal["invoice.paid", "invoice.overdue"] = Field(description="The event type.")
    invoice: InvoiceRef = Field(description="The invoice.")
    transaction_id: str | None = Field(description="`invoice.paid`: the payment that "
                                       "completed it; `invoice.overdue`: null.",
                                       examples=["txn_9f2c3a4b5d6e7f8a"])
    mode: Literal["test", "live"] = Field(description="The invoice's mode.")
    created_at: str = Field(description="When the event was recorded (UTC).",
                            examples=["2026-12-06T18:30:01Z"])
