"""Personal-wallet gateways (``bkash_personal``, ``nagad_personal``, ``rocket_personal``,
``upay_personal``; issue 13): the customer sends money from their own wallet to the
merchant's personal or agent number and types the transaction id; the payment waits in
``awaiting_verification`` until the wallet's money-received SMS, forwarded by a paired
phone, matches it (:mod:`ownpay.sms.matching`; ``sms_provider`` names whose SMS), or an
operator decides.

One class serves the four: what differs per provider -- the wallet-number and
transaction-id formats, whether "send money" carries a reference, the menu steps -- is a
:class:`WalletSpec`.  Each provider's package only instantiates it.  Pure rules, no I/O:
the checkout and the payments service do the rest, as for ``manual``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import segno

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
from ownpay.i18n import N_, gettext

ASSETS = Path(__file__).parent / "personal_assets"
ACCOUNT_TYPES = ("personal", "agent")
MAX_NUMBERS = 3
MAX_QR = 500
MOBILE = re.compile(r"01[3-9]\d{8}")  # a Bangladeshi mobile number, 11 digits
MOBILE_HINT = N_("11 digits starting with 01")
TOLERANCE = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,2})?", re.ASCII)
MAX_TOLERANCE = 1000


@dataclass(frozen=True)
class WalletSpec:
    slug: str
    brand: str  # the provider's name as customers know it
    display_name: str  # "<brand> (personal)", marked for the catalogue (ownpay.i18n.N_)
    wallet_number: re.Pattern[str]
    wallet_hint: str
    trx_id: re.Pattern[str]
    trx_hint: str
    reference_supported: bool
    sms_provider: str  # the provider id of ownpay.sms.patterns that reads its SMS
    app_steps: Mapping[str, tuple[Step, ...]]  # per account type: what the customer taps


# What the customer does, as catalogue messages (ownpay.i18n): one message per variant, so
# a translation never has to glue English fragments together.
_OPEN = {"personal": N_("Open the %(brand)s app (or dial %(ussd)s) and choose Send Money."),
         "agent": N_("Open the %(brand)s app (or dial %(ussd)s) and choose Cash Out.")}
_ENTER = {("personal", "number"): N_("Enter the number shown above and the exact amount."),
          ("agent", "number"): N_("Enter the agent number shown above and the exact amount."),
          ("personal", "account"): N_("Enter the account shown above and the exact amount."),
          ("agent", "account"): N_(
              "Enter the agent account shown above and the exact amount.")}
_CONFIRM = {True: N_("Type the reference shown above, then confirm with your PIN."),
            False: N_("Confirm with your PIN.")}
_FINISH = {"number": N_("%(brand)s shows a %(trx)s: enter it here with the number you paid "
                        "from."),
           "account": N_("%(brand)s shows a %(trx)s: enter it here with the account you paid "
                         "from.")}


@dataclass(frozen=True)
class Step:
    """One step: its catalogue message and what fills it."""

    message: str
    values: Mapping[str, str]

    def __str__(self) -> str:
        """In the customer's language (the request's, ``ownpay.i18n``)."""
        return gettext(self.message) % self.values


def app_steps(brand: str, ussd: str, trx_word: str, *, reference: bool,
              account: str = "number") -> dict[str, tuple[Step, ...]]:
    """What the customer does, per account type: Send Money to a personal wallet, Cash Out
    to an agent; ``account`` names what they type the merchant's wallet as."""
    values = {"brand": brand, "ussd": ussd, "trx": trx_word}

    def steps(kind: str) -> tuple[Step, ...]:
        return (Step(_OPEN[kind], values), Step(_ENTER[(kind, account)], values),
                Step(_CONFIRM[reference], values), Step(_FINISH[account], values))
    return {"personal": steps("personal"), "agent": steps("agent")}


def _digits(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def wallet_numbers(spec: WalletSpec, raw: Any) -> list[str]:
    """One to three numbers, comma-separated; each in the provider's format."""
    numbers = [_digits(n) for n in str(raw or "").split(",") if n.strip()]
    if not numbers:
        raise ConfigInvalid({"wallet_number": [f"Give the {spec.brand} number customers pay."]})
    bad = [n for n in numbers if not spec.wallet_number.fullmatch(n)]
    if bad or len(numbers) > MAX_NUMBERS or len(set(numbers)) != len(numbers):
        raise ConfigInvalid({"wallet_number": [
            f"Up to {MAX_NUMBERS} different {spec.brand} numbers, comma-separated: "
            f"{spec.wallet_hint}."]})
    return numbers


def qr_data_uri(payload: str) -> str:
    """The wallet's QR code drawn here (an SVG ``data:`` URI: no third-party image, and
    the page's CSP allows it)."""
    return str(segno.make(payload, error="m").svg_data_uri(scale=4, border=2))


def submission(spec: WalletSpec, form: Mapping[str, str]) -> VerifiedResult:
    """The customer's claim: the number they paid from and the transaction id, each in the
    provider's format (``FormError`` otherwise).  Never a completion."""
    sender = _digits(str(form.get("sender_number", "")))
    trx = str(form.get("trx_id", "")).strip().upper()
    errors: dict[str, list[str]] = {}
    if not spec.wallet_number.fullmatch(sender):
        errors["sender_number"] = [
            gettext("Enter the %(brand)s number you paid from: %(hint)s.")
            % {"brand": spec.brand, "hint": gettext(spec.wallet_hint)}]
    if not spec.trx_id.fullmatch(trx):
        errors["trx_id"] = [
            gettext("Enter the transaction ID exactly as %(brand)s shows it: %(hint)s.")
            % {"brand": spec.brand, "hint": gettext(spec.trx_hint)}]
    if errors:
        raise FormError(errors)
    return VerifiedResult(
        outcome=Outcome.AWAITING_VERIFICATION, provider_txn_id=trx,
        submission={"sender_number": sender, "trx_id": trx},
        reason=f"customer submitted a {spec.brand} transaction id")


class PersonalWallet(Gateway):
    """A provider's personal-wallet gateway; subclasses set ``spec``."""

    spec: ClassVar[WalletSpec]
    shared_templates = ASSETS / "templates"
    static = ASSETS / "static"
    currencies = frozenset({"BDT"})
    supports_refunds = True
    customer_sends_money = True
    setting_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("wallet_number", "Wallet number(s) customers pay to", secret=False),
        ConfigField("account_type", "Account type (personal or agent)", secret=False,
                    required=False, default="personal"),
        ConfigField("display_name", "Name shown to customers", secret=False, required=False),
        ConfigField("qr_payload", "QR code text (optional: what the wallet app's own QR "
                    "code holds)", secret=False, required=False),
        ConfigField("amount_matching", "SMS matching without a typed transaction id: the one "
                    "pending payment of the SMS's exact amount (on or off)", secret=False,
                    required=False, default="on"),
        ConfigField("overpay_tolerance", "SMS matching: accept up to this much more than the "
                    "price, in taka (e.g. the customer paid the fee on top; 0 = exact)",
                    secret=False, required=False, default="0"),
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "spec"):
            cls.slug = cls.spec.slug
            cls.display_name = cls.spec.display_name
            cls.sms_provider = cls.spec.sms_provider

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        creds, out = super().validate_config(credentials, settings)
        errors: dict[str, list[str]] = {}
        try:
            out["wallet_number"] = ",".join(wallet_numbers(self.spec, out.get("wallet_number")))
        except ConfigInvalid as exc:
            errors.update(exc.errors)
        kind = str(out.get("account_type") or "personal").strip().lower()
        if kind not in ACCOUNT_TYPES:
            errors["account_type"] = ["The account type is personal or agent."]
        out["account_type"] = kind
        qr = str(out.get("qr_payload") or "").strip()
        if qr:
            if len(qr) > MAX_QR or not qr.isprintable():
                errors["qr_payload"] = [
                    f"The QR code text is at most {MAX_QR} printable characters."]
            out["qr_payload"] = qr
        matching = str(out.get("amount_matching") or "on").strip().lower()
        if matching not in ("on", "off"):
            errors["amount_matching"] = ["Amount matching is on or off."]
        out["amount_matching"] = matching
        tolerance = str(out.get("overpay_tolerance") or "0").strip()
        if not TOLERANCE.fullmatch(tolerance) or float(tolerance) > MAX_TOLERANCE:
            errors["overpay_tolerance"] = [
                f"An amount in taka from 0 to {MAX_TOLERANCE}, at most two decimals."]
        out["overpay_tolerance"] = tolerance
        if errors:
            raise ConfigInvalid(errors)
        return creds, out

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        kind = str(ctx.settings.get("account_type") or "personal")
        qr = str(ctx.settings.get("qr_payload") or "")
        return CheckoutView(template="checkout.html", context={
            "brand": self.spec.brand,
            "numbers": str(ctx.settings.get("wallet_number") or "").split(","),
            "account_type": kind,
            "steps": [str(step) for step in self.spec.app_steps[kind]],
            "reference": payment.order_id if self.spec.reference_supported else None,
            "trx_hint": gettext(self.spec.trx_hint),
            "qr": qr_data_uri(qr) if qr else None,
            "bundle": f"gateway-{self.slug}",  # where personal-wallet.js is served
        })

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        return submission(self.spec, form)

    async def refund(self, ctx: GatewayContext, payment: PaymentView, *, amount_minor: int,
                     refund_id: str, reason: str | None) -> RefundResult:
        # The merchant sends the money back from their wallet; an operator confirms it.
        return RefundResult(outcome=Outcome.PROCESSING,
                            reason=f"send the money back by {self.spec.brand}, then confirm")
