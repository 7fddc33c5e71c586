"""What the conformance battery needs to know about one gateway: how to build its
``GatewayContext`` against its stand-in, and how to make the provider report each situation.

A new gateway joins the battery by adding one module here (``harnesses/<slug>.py``) that
defines ``HARNESS``, a subclass of :class:`Harness`.  Everything the battery checks is then
run against it; ``test_registry.py`` fails while a registered gateway has no harness.
"""

from __future__ import annotations

import enum
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from ownpay.gateways import registry
from ownpay.gateways.base import (
    Gateway,
    GatewayContext,
    MemoryStateStore,
    Outcome,
    PaymentView,
    StateStore,
    VerifiedResult,
)

# What a tampered "paid" answer differs in (battery check 2).
TAMPERINGS = ("amount", "currency", "reference")
OTHER_TRANSACTION = "txn_ffffffffffffffff"


@dataclass(frozen=True)
class AmountRule:
    """The adapter's conversion to the provider's unit (battery check 4): ``to_provider``
    raises ``refused`` for what the provider cannot be sent; ``from_provider`` reads it back
    (None: no exact equivalent)."""

    to_provider: Callable[[int, str], Any]
    from_provider: Callable[[Any, str], int | None]
    refused: type[Exception]


@dataclass(frozen=True)
class Webhook:
    headers: Mapping[str, str]
    body: bytes
    event_id: str = ""


@dataclass
class Probe:
    """A pure mapping function from one provider status string to our Outcome, and the
    members of its enum that alone mean the money was taken."""

    statuses: type[enum.StrEnum]
    outcome: Callable[[str], Outcome]
    success: frozenset[str] = field(default_factory=frozenset)


def adapter(harness: type[Harness]) -> Gateway:
    """The registered adapter a harness is for."""
    gateway = registry.get(harness.slug)
    assert gateway is not None, f"{harness.slug} is not registered"
    return gateway


class Harness(ABC):
    slug: ClassVar[str]
    # The provider's status enums, each with a probe (check 3); every StrEnum of the
    # gateway's mapping module must be listed.
    probes: ClassVar[tuple[Probe, ...]] = ()
    # None: the gateway converts nothing (the amount is the minor units as they are).
    amounts: ClassVar[AmountRule | None] = None
    # Which wrong "paid" answers the stand-in can give (a provider-backed gateway: all).
    tamperings: ClassVar[tuple[str, ...]] = ()
    # False: a paid payment waits for a human (manual); never SUCCEEDED from the adapter.
    completes_itself: ClassVar[bool] = True
    # The adapter talks to a provider over HTTP (through the executor).
    talks_http: ClassVar[bool] = True
    # Every failure reason the adapter stores (one per sentence it can tell a customer;
    # ``Gateway.describe_failure``): tests/checkout/test_outcome_messages.py shows each on
    # the status page.  Every gateway declares at least one.
    failure_reasons: ClassVar[tuple[str, ...]] = ()

    @property
    def gateway(self) -> Gateway:
        return adapter(type(self))

    # ---- the stand-in ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the stand-in (once per test session)."""

    async def stop(self) -> None:
        """Stop it."""

    def credentials(self) -> dict[str, str]:
        """What a merchant would enable the gateway with, pointing at the stand-in."""
        return {}

    def settings(self) -> dict[str, Any]:
        return {}

    def context(self, http: httpx.AsyncClient, *, store: StateStore | None = None,
                credentials: Mapping[str, str] | None = None) -> GatewayContext:
        """The adapter's context, its config normalised by ``validate_config`` as the core
        does when a merchant enables the gateway."""
        creds, settings = self.gateway.validate_config(
            dict(credentials if credentials is not None else self.credentials()), self.settings()
        )
        return GatewayContext(
            mode="test", credentials=creds, settings=settings, http=http,
            public_base_url="http://pay.test",
            checkout_url="http://pay.test/checkout/txn_0123456789abcdef",
            store=store if store is not None else MemoryStateStore(),
        )

    def unreachable_credentials(self, port: int) -> dict[str, str] | None:
        """Credentials pointing at a closed loopback port (None: no provider to reach)."""
        return None

    # ---- payments ----------------------------------------------------------------------

    def payment(self, **changes: Any) -> PaymentView:
        """A fresh pending payment this gateway can take."""
        suffix = secrets.token_hex(8)
        view = PaymentView(
            transaction_id=f"txn_{suffix}",
            merchant_slug="battery",
            mode="test",
            status="pending",
            amount_minor=9999,
            currency="USD",
            order_id=f"ORD-{suffix}",
            description="Conformance battery",
            customer_name="Jane Smith",
            customer_email="jane@example.com",
            customer_phone=None,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        return replace(view, **changes)

    @abstractmethod
    async def pay(self, ctx: GatewayContext, payment: PaymentView, *,
                  tamper: str | None = None) -> list[VerifiedResult]:
        """The customer pays (the provider says paid; with ``tamper``, paid but with that
        figure wrong); returns every verified result the adapter gives about it."""

    async def paid_payment(self, ctx: GatewayContext) -> PaymentView:
        """A payment the core completed, as the adapter then sees it (for refunds)."""
        payment = self.payment()
        final = (await self.pay(ctx, payment))[-1]
        return replace(
            payment, status="completed",
            provider_reference=final.provider_reference or payment.provider_reference,
            provider_txn_id=final.provider_txn_id,
        )

    async def money_refunded(self, ctx: GatewayContext, payment: PaymentView) -> int | None:
        """Minor units the stand-in has paid back for ``payment`` (None: nothing the adapter
        moves -- an operator refunds offline)."""
        return None

    # ---- webhooks ----------------------------------------------------------------------

    def webhooks(self, ctx: GatewayContext, payment: PaymentView
                 ) -> tuple[Webhook, list[tuple[str, Webhook]]] | None:
        """A correctly signed webhook and badly signed ones (None: no webhooks)."""
        return None
