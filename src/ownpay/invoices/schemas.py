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
    quantity: str = Field(default="1", examples=["2.5"],
                          description="Greater than 0, at most 3 decimals.")
    unit_price: str = Field(examples=["450.00"], description="The price of one. " + _AMOUNT)
    tax_rate: str | None = Field(default=None, description="The line's tax. " + _RATE)
    discount_rate: str | None = Field(default=None,
                                      description="The line's discount. " + _RATE)


class InvoiceCreate(BaseModel):
    """Body of `POST /api/v1/invoices`: `currency` and 1 to 100 `lines`; the customer by
    `customer_id`, or by `customer_name` and `customer_email` (matched to a customer, or
    one is made). The invoice is a `draft` with the brand's next number. Unknown fields
    are a `VALIDATION_ERROR`."""

    model_config = {"extra": "forbid"}

    currency: str = Field(examples=["BDT"], description="ISO 4217 code; cannot change later.")
    lines: list[InvoiceLine] = Field(min_length=1, max_length=100)
    customer_id: str | None = Field(default=None, description="A customer (`cus_…`).")
    customer_name: str | None = Field(default=None, max_length=150)
    customer_email: str | None = Field(default=None, max_length=254)
    discount_amount: str | None = Field(default=None, description="Off the subtotal "
                                        "(not with `discount_rate`). " + _AMOUNT)
    discount_rate: str | None = Field(default=None, description="Off the subtotal. " + _RATE)
    tax_rate: str | None = Field(default=None, description="On the subtotal after the "
                                 "discount. " + _RATE)
    due_date: str | None = Field(default=None, examples=["2026-12-31"],
                                 description="YYYY-MM-DD; `invoice.overdue` is sent once the "
                                 "day after it, if the invoice is still open.")
    notes: str | None = Field(default=None, max_length=2000,
                              description="Shown on the page and the PDF.")


class InvoiceUpdate(BaseModel):
    """Body of `PATCH /api/v1/invoices/{id}`: any fields of the create body (not
    `currency`); a draft only."""

    model_config = {"extra": "forbid"}

    lines: list[InvoiceLine] | None = Field(default=None, min_length=1, max_length=100)
    customer_id: str | None = None
    customer_name: str | None = Field(default=None, max_length=150)
    customer_email: str | None = Field(default=None, max_length=254)
    discount_amount: str | None = None
    discount_rate: str | None = None
    tax_rate: str | None = None
    due_date: str | None = None
    notes: str | None = Field(default=None, max_length=2000)


class InvoiceMove(BaseModel):
    """Optional body of finalize, void and mark-uncollectible."""

    model_config = {"extra": "forbid"}

    reason: str | None = Field(default=None, max_length=500,
                               description="Kept in the invoice's status history.")


class InvoiceCustomer(BaseModel):
    id: str | None
    name: str | None
    email: str | None


class InvoiceLineOut(BaseModel):
    description: str
    quantity: str
    unit_price: str
    tax_rate: str | None
    discount_rate: str | None
    amount: str = Field(description="quantity × unit_price, rounded half-up.")
    discount: str
    tax: str
    total: str = Field(description="amount − discount + tax.")


class InvoicePayment(BaseModel):
    transaction_id: str
    status: str
    amount: str


class InvoiceOut(BaseModel):
    """An invoice. Amounts are decimal strings in the currency's units; the rounding rule
    is in docs/invoices.md."""

    id: str = Field(examples=["inv_0123456789abcdef"])
    number: str = Field(examples=["INV-000123"], description="Per brand and mode.")
    status: Literal["draft", "open", "paid", "void", "uncollectible"]
    url: str = Field(description="The customer's page (`/invoice/{token}`), once open.")
    pdf_url: str
    currency: str
    customer: InvoiceCustomer
    lines: list[InvoiceLineOut]
    subtotal: str = Field(description="Σ line amount − line discount.")
    discount_amount: str | None
    discount_rate: str | None
    discount: str = Field(description="The invoice's own discount.")
    tax_rate: str | None
    line_tax: str = Field(description="Σ line tax.")
    tax: str = Field(description="The invoice's own tax.")
    total: str
    amount_paid: str
    amount_due: str = Field(description="What is left to pay on an open invoice (else 0).")
    due_date: str | None
    notes: str | None
    mode: Literal["test", "live"]
    payments: list[InvoicePayment]
    created_at: str
    updated_at: str
    finalized_at: str | None
    paid_at: str | None


class InvoiceList(BaseModel):
    data: list[InvoiceOut]
    has_more: bool
    next_cursor: str | None
