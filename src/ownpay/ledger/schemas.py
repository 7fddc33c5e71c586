"""OpenAPI shapes of the ledger balances and the fee rules (validation of a rule is in
``fees.validate_rule``, so that every bad field is reported at once)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AccountBalance(BaseModel):
    """One account's totals in one currency (major units)."""

    type: Literal["asset", "liability", "revenue", "contra-liability", "unknown"] = Field(
        description="The account's type (see docs/ledger.md).")
    normal_balance: Literal["debit", "credit"] = Field(
        description="The side on which the account's balance is positive.")
    debits: float = Field(description="Sum of its debit entries, major units.")
    credits: float = Field(description="Sum of its credit entries, major units.")
    balance: float = Field(description="On the account's normal side, major units.")


class CurrencyBalances(BaseModel):
    """The books of one currency."""

    currency: str = Field(description="ISO 4217 code.", examples=["USD"])
    accounts: dict[str, AccountBalance] = Field(
        description="By account: `gateway_clearing`, `merchant_payable`, `fee_income`, "
        "`refunds` (always all four), then any other account that has entries.")
    merchant_net_payable: float = Field(
        description="`merchant_payable` less `refunds`: what the merchant is owed now.")
    total_debits: float = Field(description="Sum of every debit entry, major units.")
    total_credits: float = Field(description="Sum of every credit entry, major units.")
    balanced: bool = Field(description="`total_debits` equals `total_credits` (always "
                           "`true` unless the books were tampered with).")


class LedgerBalances(BaseModel):
    """The ledger of the key's merchant and mode."""

    data: list[CurrencyBalances] = Field(
        description="One entry per currency that has ledger entries, by currency code.")


class FeeRuleIn(BaseModel):
    """Body of ``PUT /api/v1/fee-rules``: the rule for (`gateway`, `currency`) in the key's
    mode, created or replaced."""

    model_config = {"extra": "forbid"}

    gateway: str = Field(examples=["sandbox"], description="An installed gateway's slug.")
    currency: str | None = Field(
        default=None, examples=["USD"],
        description="ISO code; omit (or `*`) for a percentage-only rule for any currency.")
    flat: float | str | None = Field(default=None, description="Major units of `currency`.",
                                     examples=[0.30])
    percent: float | str | None = Field(
        default=None, description="Percentage of the amount, 0 to 100, e.g. 2.9 (at most 4 "
        "decimals).", examples=[2.9])
    min: float | str | None = Field(default=None, description="Minimum fee, major units.")
    max: float | str | None = Field(default=None, description="Maximum fee, major units.")


class FeeRuleOut(BaseModel):
    """A fee rule: `flat` + `percent` of the amount, then `min`/`max`, at most the amount."""

    gateway: str = Field(description="The gateway slug it applies to.", examples=["sandbox"])
    mode: Literal["test", "live"] = Field(description="The mode it applies to.")
    currency: str | None = Field(
        description="The currency it applies to; `null`: any currency without its own rule.")
    flat: float = Field(description="Flat part, major units of `currency` (0 if none).",
                        examples=[0.3])
    percent: float = Field(description="Percentage of the amount, 0 to 100, a JSON number "
                           "exactly as set (at most 4 decimals), like `flat`, `min` and `max`.",
                           examples=[2.9])
    min: float | None = Field(description="Minimum fee, major units; `null` if none.")
    max: float | None = Field(description="Maximum fee, major units; `null` if none.")
    updated_at: str = Field(description="ISO 8601 (UTC): when it was last set.")


class FeeRuleList(BaseModel):
    """Every fee rule of the key's merchant and mode."""

    data: list[FeeRuleOut] = Field(description="By gateway, then currency.")
