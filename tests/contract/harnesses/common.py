"""What the harnesses of stand-in-backed gateways share: the stand-in app (from
``tests/simulators/``) served on a loopback port, credentials and a ``base_url`` setting
pointing at it, a closed port for "unreachable", and Bangladeshi payment defaults.

A harness names its stand-in (``new_app``, ``standin_credentials``) and keeps only what is
the provider's own: its probes, amounts, how a payment is paid and how webhooks look."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast

import httpx

from ownpay.gateways.base import GatewayContext, MemoryStateStore, PaymentView, StateStore
from tests.contract.harnesses.base import Harness
from tests.simulators.loopback import Loopback

Sim = TypeVar("Sim")

# What a BDT gateway's battery payments look like (amount, currency, a local phone).
BDT_PAYMENT: Mapping[str, Any] = {"amount_minor": 125050, "currency": "BDT",
                                  "customer_phone": "01770618575"}


class StandinHarness(Harness, Generic[Sim]):
    # The stand-in's ASGI app factory (``staticmethod(create_app)``) and the credentials a
    # merchant would enable the gateway with against it.
    new_app: ClassVar[Callable[[], Any]]
    standin_credentials: ClassVar[Mapping[str, str]] = {}
    # The stand-in is told its own URL when it starts (for the links it hands out).
    tells_standin_its_url: ClassVar[bool] = True
    # Merged under every ``payment(**changes)``.
    payment_defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self) -> None:
        self.app = self.new_app()
        self.server = Loopback(self.app)

    @property
    def sim(self) -> Sim:
        return cast(Sim, self.app.state.sim)

    async def start(self) -> None:
        await self.server.__aenter__()
        if self.tells_standin_its_url:
            self.sim.base_url = self.server.url  # type: ignore[attr-defined]

    async def stop(self) -> None:
        await self.server.__aexit__()

    def credentials(self) -> dict[str, str]:
        return dict(self.standin_credentials)

    def settings(self) -> dict[str, Any]:
        return {"base_url": self.server.url}

    def context(self, http: httpx.AsyncClient, *, store: StateStore | None = None,
                credentials: Mapping[str, str] | None = None) -> GatewayContext:
        """As the base does; a ``base_url`` among ``credentials`` (a closed port) wins over
        the stand-in's, as a merchant's own setting would."""
        settings = self.settings()
        if credentials is not None and "base_url" in credentials:
            settings["base_url"] = credentials["base_url"]
            credentials = {k: v for k, v in credentials.items() if k != "base_url"}
        creds, normalised = self.gateway.validate_config(
            dict(credentials if credentials is not None else self.credentials()), settings)
        return GatewayContext(
            mode="test", credentials=creds, settings=normalised, http=http,
            public_base_url="http://pay.test",
            checkout_url="http://pay.test/checkout/txn_0123456789abcdef",
            store=store if store is not None else MemoryStateStore(),
        )

    def unreachable_credentials(self, port: int) -> dict[str, str] | None:
        return {**self.standin_credentials, "base_url": f"http://127.0.0.1:{port}"}

    def payment(self, **changes: Any) -> PaymentView:
        return super().payment(**{**self.payment_defaults, **changes})
