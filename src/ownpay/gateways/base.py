"""The gateway adapter contract.

A gateway adapter is a *mapper*: it turns our payment into provider requests and the
provider's answers into :class:`VerifiedResult` values.  It never touches the database and
never changes a payment's status -- the payments service does that, after checking that the
verified amount, currency and reference match the intent (ARCHITECTURE.md, invariants 3-4).
The core never branches on a gateway's slug; it reads the adapter's declared capabilities.

Size: over 400 lines on purpose -- the whole contract an adapter author implements (the
base class, its values and its errors) is this one file, with the few helpers adapters
share (stripped config, URL settings, amount checks, our callback URLs): an adapter
package may import only this module and the executor (tests/contract/test_imports.py).
"""

from __future__ import annotations

import asyncio
import enum
from abc import ABC
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx


class Outcome(enum.StrEnum):
    """What a provider says about one payment, after server-side verification."""

    SUCCEEDED = "succeeded"  # money captured; amount/currency/reference given in the result
    AUTHORIZED = "authorized"  # the customer approved at the provider; we must capture once
    PROCESSING = "processing"  # provider accepted it, final answer later
    AWAITING_VERIFICATION = "awaiting_verification"  # offline payment claimed, needs a human
    FAILED = "failed"  # declined / rejected: this attempt is over
    CANCELLED = "cancelled"  # the customer abandoned at the provider
    PENDING = "pending"  # nothing happened yet (no change)
    UNKNOWN = "unknown"  # cannot tell (timeout, unmapped status): reconcile later, never complete


_Status = TypeVar("_Status", bound=enum.StrEnum)


def provider_status(kind: type[_Status], raw: object) -> _Status | None:
    """The member of a provider's status enum spelled exactly ``raw``, else None.

    Mapping modules parse with this and map None (a status the provider added later, a
    typo, another case, not a string) to ``Outcome.UNKNOWN``, never to a completion."""
    if not isinstance(raw, str):
        return None
    try:
        return kind(raw)
    except ValueError:
        return None


class GatewayError(Exception):
    """The provider could not be asked, gave no usable answer, or refused the merchant's
    credentials.  ``retryable``: asking again later may work.

    ``may_have_acted`` says whether the provider may have carried the request out:
    ``False`` when it cannot have (the request never reached it, or it refused before
    acting), ``True`` when it may have (a timeout after sending, an answer lost mid-way, a
    5xx), ``None`` when the adapter does not say.  The provider executor's
    :class:`~ownpay.gateways.executor.ProviderDidNotAct` and
    :class:`~ownpay.gateways.executor.ProviderMayHaveActed` are the two classified cases."""

    may_have_acted: bool | None = None

    def __init__(
        self, message: str, *, retryable: bool = True, may_have_acted: bool | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        if may_have_acted is not None:
            self.may_have_acted = may_have_acted


class ConfigInvalid(ValueError):
    """Credentials or settings rejected when a gateway is enabled; ``errors`` per field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class WebhookRejected(ValueError):
    """An inbound provider webhook failed verification (bad signature, stale, malformed)."""


class FormError(ValueError):
    """The customer's input on our checkout page is unusable; ``errors`` per field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ConfigField:
    name: str
    label: str
    secret: bool = True
    required: bool = True
    default: str | None = None
    help: str = ""
    multiline: bool = False


@dataclass(frozen=True)
class CredentialCheck:
    """The answer of :meth:`Gateway.check_credentials` (the dashboard's "Test connection").

    ``supported`` False: the adapter cannot check its credentials without a payment; ``ok``
    says whether the provider accepted them; ``message`` is a sentence for the operator and
    never contains a secret."""

    supported: bool
    ok: bool
    message: str


@dataclass(frozen=True)
class PaymentView:
    """The read-only slice of a payment an adapter may see."""

    transaction_id: str
    merchant_slug: str
    mode: str
    status: str
    amount_minor: int
    currency: str
    order_id: str
    description: str | None
    customer_name: str
    customer_email: str
    customer_phone: str | None
    expires_at: datetime
    provider_reference: str | None = None
    provider_txn_id: str | None = None
    submission: Mapping[str, Any] | None = None
    attempts: int = 0


class StateStore(Protocol):
    """Small per-gateway-account storage the core offers adapters (encrypted at rest).

    Adapters use it for things all processes must share, such as provider access tokens,
    so that every worker does not grant its own.  ``exclusive(key)`` holds a lock on
    ``key`` across every process of the installation (bounded wait), so that a read, a
    provider call and a write of ``key`` happen in one process at a time.
    """

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, value: dict[str, Any]) -> None: ...

    def exclusive(self, key: str) -> AbstractAsyncContextManager[None]: ...


class MemoryStateStore:
    """A process-local store (tests, and a fallback when no database is involved)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = dict(value)

    def exclusive(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._locks.setdefault(key, asyncio.Lock())


@dataclass(frozen=True)
class GatewayContext:
    """Everything an adapter needs for one call: its decrypted config and one HTTP client."""

    mode: str
    credentials: Mapping[str, str]
    settings: Mapping[str, Any]
    http: httpx.AsyncClient
    # Absolute URL prefix of our own public routes, e.g. for provider callbacks.
    public_base_url: str
    # The checkout URL of the payment, for providers that redirect back to it.
    checkout_url: str = ""
    store: StateStore = field(default_factory=MemoryStateStore)


@dataclass(frozen=True)
class VerifiedResult:
    """A provider's verified statement about a payment."""

    outcome: Outcome
    amount_minor: int | None = None
    currency: str | None = None
    reference: str | None = None  # our transaction id as the provider recorded it
    provider_reference: str | None = None
    provider_txn_id: str | None = None
    reason: str | None = None  # precise, for the status history
    customer_message: str | None = None  # readable, for the checkout page
    # What the customer entered on our page (field name -> text), stored on the payment and
    # shown to the operator as ``customer_submission`` (the intent, the transaction detail,
    # ``ownpay payments show`` and every later webhook).  Never a secret: an adapter keeps
    # PINs, passwords and one-time codes out of it.
    submission: Mapping[str, str] | None = None
    # With outcome PENDING: send the customer to the provider to act (e.g. bKash's page).
    redirect_url: str | None = None


@dataclass(frozen=True)
class CheckoutView:
    """What our checkout page shows for this gateway, or where it sends the customer."""

    # The gateway's fragment of the checkout page: a file in the adapter's ``templates``
    # folder (rendered as ``gateway/<slug>/<template>``, with ``view`` in its context).
    template: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    redirect_url: str | None = None  # send the customer to the provider instead
    provider_reference: str | None = None  # new provider object created for this attempt
    script_origins: tuple[str, ...] = ()  # extra CSP script-src/connect-src/frame-src
    # Origins the page's forms may post to or be redirected to after a post (CSP
    # form-action), e.g. the provider's hosted page a form sends the customer to.
    form_origins: tuple[str, ...] = ()
    needs_javascript: bool = False


class ProviderEventKind(enum.StrEnum):
    """What the core does with a verified provider event (it never reads ``type`` itself)."""

    PAYMENT = "payment"  # about a payment's status: re-fetch with query_status, then apply
    REFUND = "refund"  # about a refund of a payment: handed to the refunds hook
    IGNORED = "ignored"  # recorded for the operator, nothing to do


@dataclass(frozen=True)
class ProviderEvent:
    """A verified inbound provider webhook, before we act on it."""

    event_id: str
    type: str
    provider_reference: str | None = None
    reference: str | None = None  # our transaction id, when the provider echoes it
    kind: ProviderEventKind = ProviderEventKind.PAYMENT
    # Non-secret facts the adapter extracted (e.g. refunded amount in our minor units).
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    outcome: Outcome  # SUCCEEDED, PROCESSING, FAILED or UNKNOWN
    provider_refund_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ProviderRefund:
    """One refund of a payment as the provider holds it (see ``Gateway.list_refunds``),
    whoever made it: OwnPay, or someone in the provider's dashboard."""

    provider_refund_id: str
    outcome: Outcome  # SUCCEEDED, PROCESSING, FAILED or UNKNOWN, as in RefundResult
    amount_minor: int | None  # in our minor units; None when it has no exact equivalent
    currency: str
    # Our refund id when OwnPay sent it (e.g. from the provider object's metadata).
    refund_id: str | None = None
    reason: str | None = None


class Gateway(ABC):  # noqa: B024 - every hook has a safe default; subclasses pick theirs
    """Base class for adapters.  Override what the gateway supports; the defaults refuse."""

    slug: ClassVar[str]
    display_name: ClassVar[str]
    modes: ClassVar[frozenset[str]] = frozenset({"test", "live"})
    currencies: ClassVar[frozenset[str] | None] = None  # None: any ISO 4217 currency
    credential_fields: ClassVar[tuple[ConfigField, ...]] = ()
    setting_fields: ClassVar[tuple[ConfigField, ...]] = ()
    supports_refunds: ClassVar[bool] = False
    # ``query_refund`` can tell a refund's outcome after a timeout or a crash.
    supports_refund_query: ClassVar[bool] = False
    # Sending the same refund (same ``refund_id``) twice moves money once: the provider
    # deduplicates by it (e.g. an idempotency key).  Only then may the core re-send a refund
    # whose first request may or may not have arrived.
    idempotent_refunds: ClassVar[bool] = False
    supports_status_query: ClassVar[bool] = False
    # ``list_refunds`` reports every refund the provider holds for a payment, so refunds
    # made outside OwnPay (the provider's dashboard) reach our books.  Declare it only if
    # the listing tells OwnPay's refunds apart (``ProviderRefund.refund_id``): a refund of
    # ours it cannot recognise would be booked a second time.
    supports_refund_listing: ClassVar[bool] = False
    supports_webhooks: ClassVar[bool] = False
    # Two-step providers (bKash): the customer authorises, then we capture exactly once.
    supports_capture: ClassVar[bool] = False
    works_without_javascript: ClassVar[bool] = True
    # The customer moves the money themselves, outside OwnPay (a bank transfer, a wallet's
    # "send money", cash), so OwnPay cannot know whether any moved: a failed, rejected or
    # cancelled payment never tells them "No money was taken" but to contact the merchant.
    customer_sends_money: ClassVar[bool] = False
    # The provider sends the customer's browser back with a POST (a form it auto-submits:
    # SSLCommerz, aamarPay, …) rather than a GET redirect; the return route then takes a
    # form body, without our CSRF token (the provider's post cannot carry it).
    returns_by_post: ClassVar[bool] = False
    # The wallet provider whose money-received SMS (``ownpay.sms``) verify this gateway's
    # payments: the customer's typed transaction id is matched against them.
    sms_provider: ClassVar[str | None] = None
    # The adapter's checkout fragment templates and its browser code, if it has any; the
    # checkout serves them as ``gateway/<slug>/…`` and ``/assets/gateway-<slug>/…``.
    templates: ClassVar[Path | None] = None
    static: ClassVar[Path | None] = None
    # Templates a family of adapters shares (the personal wallets), looked up under the
    # same ``gateway/<slug>/…`` names after the adapter's own ``templates``.
    shared_templates: ClassVar[Path | None] = None

    def validate_config(
        self, credentials: Mapping[str, str], settings: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Check and normalise config when a merchant enables the gateway."""
        errors: dict[str, list[str]] = {}
        creds: dict[str, str] = {}
        for f in self.credential_fields:
            value = credentials.get(f.name, f.default)
            if f.required and not value:
                errors.setdefault(f.name, []).append(f"{f.label} is required.")
            elif value is not None:
                creds[f.name] = str(value)
        valid = [f.name for f in (*self.credential_fields, *self.setting_fields)]
        for name in credentials:
            if name not in valid:
                errors.setdefault(name, []).append(
                    f"Unknown setting for {self.slug}; its settings are: {', '.join(valid)}."
                    if valid else f"Unknown setting: {self.slug} takes no settings.")
        out_settings: dict[str, Any] = {}
        for f in self.setting_fields:
            value = settings.get(f.name, credentials.get(f.name, f.default))
            if f.required and not value:
                errors.setdefault(f.name, []).append(f"{f.label} is required.")
            elif value is not None:
                out_settings[f.name] = value
        if errors:
            raise ConfigInvalid(errors)
        return creds, out_settings

    async def check_credentials(self, ctx: GatewayContext) -> CredentialCheck:
        """Optional: ask the provider whether the stored credentials work, moving no money
        (e.g. an authenticated read).  Raises nothing: a provider that cannot be reached is
        ``ok=False`` with the reason.  The default says the check is not supported."""
        return CredentialCheck(supported=False, ok=False,
                               message="This gateway cannot check its credentials from here; "
                               "make a test payment instead.")

    def describe_failure(self, reason: str | None) -> str | None:
        """A customer-readable sentence for a stored failure reason (None: generic text).

        It says what happened, never whether money was taken: the checkout adds that part
        itself, from ``customer_sends_money``, so no page can say it twice."""
        return None

    def currency_supported(self, currency: str) -> bool:
        return self.currencies is None or currency.upper() in self.currencies

    def validate_amount(self, amount_minor: int, currency: str) -> str | None:
        """Why the provider cannot charge exactly this amount (a readable sentence), or None.

        Asked when a payment intent is created, after ``currency_supported``: an amount the
        gateway cannot represent is refused then, not on the customer's checkout page."""
        return None

    async def start_checkout(self, ctx: GatewayContext, payment: PaymentView) -> CheckoutView:
        """What the checkout page shows (or where it redirects) to start a payment."""
        raise NotImplementedError

    async def submit(
        self, ctx: GatewayContext, payment: PaymentView, form: Mapping[str, str]
    ) -> VerifiedResult:
        """The customer submitted the gateway's part of our checkout page."""
        raise FormError({"form": ["This payment method has nothing to submit."]})

    async def verify_return(
        self, ctx: GatewayContext, payment: PaymentView, params: Mapping[str, str]
    ) -> VerifiedResult:
        """The customer came back from the provider; ask the provider what really happened."""
        return await self.query_status(ctx, payment)

    async def capture(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        """Capture an authorised payment.  The core calls this at most once per payment,
        after claiming it (pending -> processing); on an ambiguous error the adapter must
        not retry blindly but raise GatewayError, and the core then asks ``query_status``."""
        raise NotImplementedError

    async def query_status(self, ctx: GatewayContext, payment: PaymentView) -> VerifiedResult:
        """Current provider status of the payment (reconciliation)."""
        return VerifiedResult(outcome=Outcome.UNKNOWN, reason="status query not supported")

    async def cancel_provider_payment(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> VerifiedResult:
        """Make sure the provider's object for this payment can no longer take money; the
        core calls it (no transaction open) before it expires a pending payment that has a
        ``provider_reference``, after ``query_status`` said nothing was paid.

        Returns CANCELLED when nothing can be charged any more (cancelled now, cancelled
        before, or nothing to cancel); SUCCEEDED or PROCESSING, verified as ``query_status``
        would, when the provider took the money first (the core then applies that instead
        of expiring); UNKNOWN when it cannot tell.  Raises GatewayError when the provider
        cannot be reached (the payment then stays pending and is tried again).

        The default is for providers whose objects cannot be completed without us (bKash:
        an unexecuted payment is never executed once our link has expired)."""
        return VerifiedResult(
            outcome=Outcome.CANCELLED, provider_reference=payment.provider_reference,
            reason="nothing to cancel at the provider",
        )

    async def parse_webhook(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> ProviderEvent:
        """Verify an inbound provider webhook's signature and say what it is about.

        Raises :class:`WebhookRejected` when the signature (or payload) does not verify."""
        raise NotImplementedError

    async def refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        amount_minor: int,
        refund_id: str,
        reason: str | None,
    ) -> RefundResult:
        """Ask the provider to pay ``amount_minor`` of the payment back.

        ``refund_id`` is ours and stable: send it as the provider's idempotency key or
        reference where there is one.  SUCCEEDED / FAILED are final; PROCESSING means the
        provider accepted it (or, offline, an operator must confirm it); an ambiguous error
        must raise GatewayError (or return UNKNOWN), never guess."""
        raise NotImplementedError

    async def query_refund(
        self,
        ctx: GatewayContext,
        payment: PaymentView,
        *,
        refund_id: str,
        provider_refund_id: str | None,
    ) -> RefundResult:
        """The provider's current outcome of a refund we may have sent (reconciliation).

        UNKNOWN when the provider cannot tell (or has no record of it): the core then keeps
        the refund pending, and re-sends it only if ``idempotent_refunds``."""
        return RefundResult(outcome=Outcome.UNKNOWN, reason="refund query not supported")

    async def list_refunds(
        self, ctx: GatewayContext, payment: PaymentView
    ) -> list[ProviderRefund]:
        """Every refund the provider holds for this payment, newest first, with amounts in
        our minor units (only when ``supports_refund_listing``).  Raises GatewayError when
        the provider cannot be asked."""
        raise NotImplementedError


def url_origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL (for a CSP allowance), else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


# ---- helpers every hosted-page adapter spells the same way (the differing bits are
# parameters): stripped config, optional URL settings, amount checks, our callback URLs.


def stripped_config(
    credentials: Mapping[str, str], settings: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Credentials as stripped strings; settings stripped where they are strings."""
    return (
        {k: str(v).strip() for k, v in credentials.items()},
        {k: str(v).strip() if isinstance(v, str) else v for k, v in settings.items()},
    )


def absolute_http_url(value: str, *, fragment_ok: bool = False, userinfo_ok: bool = True) -> bool:
    """An http(s) URL with a host and no query (nor, unless allowed, a fragment or a
    user:password part)."""
    parts = urlsplit(value)
    return (parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query
            and (fragment_ok or not parts.fragment)
            and (userinfo_ok or not (parts.username or parts.password)))


def check_url_setting(
    out: dict[str, Any],
    errors: dict[str, list[str]],
    name: str,
    message: str,
    *,
    strip_slash: bool = True,
    fragment_ok: bool = False,
    userinfo_ok: bool = True,
) -> None:
    """Check the optional URL setting ``name`` of ``out``: absent or empty, it is removed;
    otherwise it is kept (without a trailing slash when ``strip_slash``) and, when it is not
    an absolute http(s) URL, ``errors[name]`` is ``[message]``."""
    value = str(out.get(name) or "")
    if not value:
        out.pop(name, None)
        return
    if not absolute_http_url(value, fragment_ok=fragment_ok, userinfo_ok=userinfo_ok):
        errors[name] = [message]
    out[name] = value.rstrip("/") if strip_slash else value


def amount_refusal(
    convert: Callable[[int, str], object],
    refused: type[Exception],
    amount_minor: int,
    currency: str,
) -> str | None:
    """Why ``convert`` (the adapter's amount conversion) cannot represent this amount: the
    text of the ``refused`` error it raises, else None."""
    try:
        convert(amount_minor, currency)
    except refused as exc:
        return str(exc)
    return None


def gateway_url(ctx: GatewayContext, slug: str, *parts: str) -> str:
    """The absolute URL of our public route ``/gateways/<slug>/<parts…>``."""
    return "/".join((ctx.public_base_url.rstrip("/"), "gateways", slug, *parts))
