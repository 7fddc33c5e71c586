"""``manual``: offline methods (bank transfer, "send money" to a wallet, cash).

The merchant configures instructions and the fields the customer fills in; the payment waits
in ``awaiting_verification`` until an operator approves or rejects it.  The rules for fields
and submissions are ``mapping`` (pure).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ownpay.gateways.base import (
    CheckoutView,
    ConfigField,
    ConfigInvalid,
    Gateway,
    GatewayContext,
    Outcome,
    PaymentView,
    RefundResult,
    VerifiedResult,
)
from ownpay.gateways.manual import mapping
from ownpay.i18n import N_


class ManualGateway(Gateway):
    slug = "manual"
    display_name = N_("Manual / offline payment")  # translated where customers read it
    templates = Path(__file__).parent / "templates"
    supports_refunds = True
    customer_sends_money = True
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("instructions", "Instructions", secret=False, required=False, multiline=True),
        ConfigField("fields", "Fields", secret=False, required=False),
        ConfigField("display_name", "Name shown to customers", secret=False, required=False),
    )

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(credentials, settings)
        out["fields"] = mapping.parse_fields(out.get("fields"))
        instructions = str(out.get("instructions") or mapping.DEFAULT_INSTRUCTIONS)
        if len(instructions) > mapping.MAX_INSTRUCTIONS:
            raise ConfigInvalid({"instructions": [
                f"Instructions must be at most {mapping.MAX_INSTRUCTIONS} characters."
            ]})
        out["instructions"] = instructions
        return creds, out

    @staticmethod
    def fields(settings: Mapping[str, Any]) -> list[dict[str, str]]:
        return mapping.parse_fields(settings.get("fields"))

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        return CheckoutView(
            template="checkout.html",
            context={
                "instructions": ctx.settings.get("instructions") or mapping.DEFAULT_INSTRUCTIONS,
                "fields": self.fields(ctx.settings),
            },
        )

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        return mapping.submission(self.fields(ctx.settings), form)

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


ADAPTER = ManualGateway()
