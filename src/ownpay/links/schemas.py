"""The payment-link API's bodies, as ``/docs`` describes them (the service checks them:
``links/service.py`` ``check_terms``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LinkField(BaseModel):
    """A field the customer fills in on the link's page; the answer is stored in the
    payment's `metadata` under `name`."""

    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["size"],
                      description="The metadata key: 1 to 40 of a-z, 0-9 and _, starting with "
                      "a letter (not one of the page's own fields, e.g. `customer_email`).")
    label: str = Field(max_length=80, examples=["T-shirt size"],
                       description="What the customer sees.")
    type: Literal["text", "number", "select"] = Field(
        default="text", description="`text` (at most 500 characters), `number` (a decimal "
        "number, stored as its text) or `select` (one of `options`).")
    required: bool = Field(default=False, description="Whether the customer must fill it in.")
    options: list[str] | None = Field(default=None, examples=[["S", "M", "L"]],
                                      description="A select field's choices (1 to 20).")


_AMOUNT = ("A decimal string (or number) in the currency's units, exact to its minor unit, "
           "e.g. `\"1250.50\"`.")


class PaymentLinkCreate(BaseModel):
    """Body of `POST /api/v1/payment-links`: `title` and `currency`, and a fixed `amount` or
    (without one) the customer's own amount within `min_amount`/`max_amount`. Unknown fields
    are a `VALIDATION_ERROR`."""

    model_config = {"extra": "forbid"}

    title: str = Field(max_length=120, examples=["Eid gift box"],
                       description="The page's heading and the payments' description.")
    currency: str = Field(examples=["BDT"], description="ISO 4217 code; cannot change later.")
    amount: str | None = Field(default=None, examples=["1250.00"],
                               description="A fixed price. " + _AMOUNT)
    min_amount: str | None = Field(default=None, description="Without `amount`: the least "
                                   "the customer may enter (default: one minor unit). "
                                   + _AMOUNT)
    max_amount: str | None = Field(default=None, description="Without `amount`: the most the "
                                   "customer may enter (default: the installation's limit). "
                                   + _AMOUNT)
    slug: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$",
                             examples=["eid-gift-box"],
                             description="The page's address, `/pay/{slug}`: 3 to 64 of a-z, "
                             "0-9 and -; unique across the installation. Default: 10 random "
                             "characters.")
    description: str | None = Field(default=None, max_length=2000,
                                    description="Shown under the title (Markdown, no HTML).")
    image_url: str | None = Field(default=None, max_length=2048,
                                  description="An image shown on the page (http(s) URL).")
    gateways: list[str] | None = Field(
        default=None, examples=[["bkash", "sslcommerz"]],
        description="The gateways the customer may pay with (each active for the brand and "
        "mode, accepting the currency). Default: every method the brand offers.")
    fields: list[LinkField] | None = Field(default=None,
                                           description="Up to 10 fields the customer fills in.")
    max_uses: int | None = Field(default=None, ge=1, le=1_000_000,
                                 description="At most this many payments: paid ones, and those "
                                 "under way until they expire. Default: no limit.")
    expires_at: str | None = Field(default=None, examples=["2027-01-31T18:00:00Z"],
                                   description="After this time the page takes no payment "
                                   "(ISO 8601 with an offset).")
    active: bool | None = Field(default=None,
                                description="`false`: the page takes no payment. Default true.")
    redirect_url: str | None = Field(default=None, max_length=2048,
                                     description="Where the customer goes after paying (the "
                                     "checkout appends `transaction_id`, `order_id` and "
                                     "`status`). Default: our thank-you page.")


class PaymentLinkUpdate(BaseModel):
    """Body of `PATCH /api/v1/payment-links/{link_id}`: only the fields sent change (at least
    one); `null` clears an optional one. The currency cannot change."""

    model_config = {"extra": "forbid"}

    title: str | None = Field(default=None, max_length=120, description="A new title.")
    amount: str | None = Field(default=None, description="A new fixed price (`null`: the "
                               "customer's own amount). " + _AMOUNT)
    min_amount: str | None = Field(default=None, description="A new least amount. " + _AMOUNT)
    max_amount: str | None = Field(default=None, description="A new most amount. " + _AMOUNT)
    slug: str | None = Field(default=None, description="A new address (the old one stops "
                             "working).")
    description: str | None = Field(default=None, max_length=2000,
                                    description="A new description.")
    image_url: str | None = Field(default=None, max_length=2048, description="A new image.")
    gateways: list[str] | None = Field(default=None, description="New allowed gateways "
                                       "(`[]`: every method the brand offers).")
    fields: list[LinkField] | None = Field(default=None, description="New customer fields.")
    max_uses: int | None = Field(default=None, ge=1, le=1_000_000,
                                 description="A new cap (`null`: none).")
    expires_at: str | None = Field(default=None, description="A new expiry (`null`: none).")
    active: bool | None = Field(default=None, description="Turn the page on or off.")
    redirect_url: str | None = Field(default=None, max_length=2048,
                                     description="A new return address.")


class PaymentLinkOut(BaseModel):
    """A payment link."""

    id: str = Field(description="`plink_` and 16 hex digits.",
                    examples=["plink_4f1a2b3c4d5e6f70"])
    url: str = Field(description="The public page to share.",
                     examples=["https://pay.example.com/pay/eid-gift-box"])
    slug: str = Field(description="The page's address part.")
    title: str = Field(description="The title.")
    description: str | None = Field(description="The description.")
    image_url: str | None = Field(description="The image.")
    currency: str = Field(description="ISO 4217 code.")
    amount: str | None = Field(description="The fixed price, or `null` (the customer's own "
                               "amount).")
    min_amount: str | None = Field(description="The least customer amount, when set.")
    max_amount: str | None = Field(description="The most customer amount, when set.")
    gateways: list[str] = Field(description="Allowed gateways (`[]`: all the brand's).")
    fields: list[LinkField] = Field(description="The customer's fields.")
    max_uses: int | None = Field(description="The cap, or `null`.")
    paid_count: int = Field(description="Payments made on it that were paid (refunded ones "
                            "included).")
    expires_at: str | None = Field(description="The expiry (UTC), or `null`.")
    active: bool = Field(description="Whether it is turned on.")
    redirect_url: str | None = Field(description="Where the customer goes after paying.")
    mode: Literal["test", "live"] = Field(description="The API key's mode it was made in.")
    created_at: str = Field(description="When it was made (UTC).")
    updated_at: str = Field(description="When it last changed (UTC).")


class PaymentLinkList(BaseModel):
    """One page of payment links, newest first."""

    data: list[PaymentLinkOut] = Field(description="Links, newest first.")
    has_more: bool = Field(description="Whether another page follows.")
    next_cursor: str | None = Field(
        description="Pass as `starting_after` for the next page; `null` on the last page.")
