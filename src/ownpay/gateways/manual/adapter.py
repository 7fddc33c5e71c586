"""``manual``: offline methods (bank transfer, "send money" to a wallet, cash).

The merchant configures instructions and the fields the customer fills in; the payment waits
in ``awaiting_verification`` until an operator approves or rejects it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ownpay.gateways.base import (
    CheckoutView,
    ConfigField,
    ConfigInvalid,
    FormError,
    Gateway,
    GatewayContext,
    Outcome,
    PaymentView,
    RefundResult,
    VerifiedResult,
)

DEFAULT_FIELDS: tuple[dict[str, str], ...] = (
    {"name": "sender_account", "label": "Sender account or phone number"},
    {"name": "provider_txn_id", "label": "Transaction ID from your payment provider"},
)
DEFAULT_INSTRUCTIONS = (
    "Send the exact amount using the payment method agreed with the merchant, then enter "
    "the account you paid from and the transaction ID you received."
)
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_VALUE_LENGTH = 100


def _parse_fields(raw: Any) -> list[dict[str, str]]:
    """Fields come as a list of {name,label} or as "name:Label,name2:Label 2" text."""
    if raw is None or raw == "":
        return [dict(f) for f in DEFAULT_FIELDS]
    items: list[dict[str, str]] = []
    if isinstance(raw, str):
        for part in raw.split(","):
            name, _, label = part.partition(":")
            items.append({"name": name.strip(), "label": label.strip() or name.strip()})
    elif isinstance(raw, list):
        for entry in raw:
            if not isinstance(entry, dict):
                raise ConfigInvalid({"fields": ["Each field must have a name and a label."]})
            items.append({"name": str(entry.get("name", "")), "label": str(entry.get("label", ""))})
    else:
        raise ConfigInvalid({"fields": ["Fields must be a list or 'name:Label,…' text."]})
    names = [i["name"] for i in items]
    if not items or any(not _FIELD_NAME.match(n) for n in names) or len(set(names)) != len(names):
        raise ConfigInvalid(
            {"fields": ["Field names must be unique, lower-case letters, digits or _."]}
        )
    return items


class ManualGateway(Gateway):
    slug = "manual"
    display_name = "Manual / offline payment"
    templates = Path(__file__).parent / "templates"
    supports_refunds = True
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("instructions", "Instructions", secret=False, required=False, multiline=True),
        ConfigField("fields", "Fields", secret=False, required=False),
        ConfigField("display_name", "Name shown to customers", secret=False, required=False),
    )

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(credentials, settings)
        out["fields"] = _parse_fields(out.get("fields"))
        instructions = str(out.get("instructions") or DEFAULT_INSTRUCTIONS)
        if len(instructions) > 5000:
            raise ConfigInvalid({"instructions": ["Instructions must be at most 5000 characters."]})
        out["instructions"] = instructions
        return creds, out

    @staticmethod
    def fields(settings: Mapping[str, Any]) -> list[dict[str, str]]:
        return _parse_fields(settings.get("fields"))

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        return CheckoutView(
            template="checkout.html",
            context={
                "instructions": ctx.settings.get("instructions") or DEFAULT_INSTRUCTIONS,
                "fields": self.fields(ctx.settings),
            },
        )

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        errors: dict[str, list[str]] = {}
        values: dict[str, str] = {}
        for f in self.fields(ctx.settings):
            value = " ".join(str(form.get(f["name"], "")).split())
            if not value:
                errors.setdefault(f["name"], []).append(f"{f['label']} is required.")
            elif len(value) > MAX_VALUE_LENGTH:
                errors.setdefault(f["name"], []).append(
                    f"{f['label']} must be at most {MAX_VALUE_LENGTH} characters."
                )
            values[f["name"]] = value
        if errors:
            raise FormError(errors)
        txn = values.get("provider_txn_id")
        return VerifiedResult(
            outcome=Outcome.AWAITING_VERIFICATION,
            provider_txn_id=txn.upper() if txn else None,
            submission=values,
            reason="customer submitted offline payment details",
        )

    async def refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        amount_minor: int,
        refund_id: str,
        reason: str | None,
    ) -> RefundResult:
        # Offline money goes back offline: an operator confirms it later.
        return RefundResult(outcome=Outcome.PROCESSING, reason="offline refund to be confirmed")
