"""The domain API's bodies and answers, as ``/docs`` describes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EXAMPLE_ID = "dom_5f0c3a9e2b7d4c1a"
EXAMPLE_TXT_VALUE = "ownpay-verify-9d1c6b0e4f2a83d75c1e0b9a6f3d2c71"


class DomainCreate(BaseModel):
    """Body of `POST /api/v1/domains`. Unknown fields are a `VALIDATION_ERROR`."""

    model_config = {"extra": "forbid"}

    domain: str = Field(examples=["pay.example.com"], description=(
        "A host name of at least two labels that you control, without scheme, port or path; "
        "international names are accepted and stored in their ASCII (IDNA) form. Not an IP "
        "address, not this installation's own host, and not a domain already in use here."))


class DnsRecord(BaseModel):
    """A DNS record to create at your DNS provider."""

    type: Literal["TXT", "A", "AAAA"] = Field(examples=["TXT"], description="The record type.")
    name: str = Field(examples=["_ownpay-verification.pay.example.com"],
                      description="The record's full name.")
    value: str = Field(examples=[EXAMPLE_TXT_VALUE],
                       description="Its value: the token, or one of our addresses.")


class DomainOut(BaseModel):
    """One of the brand's domains."""

    id: str = Field(examples=[EXAMPLE_ID], description="`dom_` + 16 hex digits.")
    domain: str = Field(examples=["pay.example.com"], description="ASCII, lower-case.")
    status: Literal["pending", "verified", "suspended"] = Field(description=(
        "`pending` until a check passes; `verified` serves your checkout and payment links; "
        "`suspended` after 3 failed re-checks in a row (verified again when a check passes)."))
    primary: bool = Field(description="Whether payment and checkout URLs use this domain "
                          "(while it is verified).")
    verification_token: str = Field(examples=[EXAMPLE_TXT_VALUE],
                                    description="What the TXT record must contain.")
    dns_records: list[DnsRecord] = Field(description=(
        "Exactly what to create: the TXT record with the token, and an A/AAAA record for "
        "each of this installation's addresses (or a CNAME to a name that has them)."))
    consecutive_failures: int = Field(description="Checks failed in a row since the last pass.")
    last_error: str | None = Field(description="Why the last check failed; `null` if it passed "
                                   "or none ran yet.")
    created_at: str = Field(description="ISO 8601 (UTC).")
    verified_at: str | None = Field(description="When a check last turned it `verified`.")
    last_checked_at: str | None = Field(description="When it was last checked.")


class DomainList(BaseModel):
    """All the brand's domains (at most 20)."""

    data: list[DomainOut] = Field(description="Oldest first.")


class DomainDeleted(BaseModel):
    """``DELETE`` answer."""

    id: str = Field(examples=[EXAMPLE_ID], description="The removed domain's id.")
    deleted: bool = Field(description="Always `true`.")
