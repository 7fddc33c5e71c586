"""The registry of gateway types.  Later gateways register themselves here by slug."""

from __future__ import annotations

from ownpay.gateways.base import Gateway

_REGISTRY: dict[str, Gateway] = {}


def register(gateway: Gateway) -> Gateway:
    if gateway.slug in _REGISTRY:
        raise ValueError(f"gateway {gateway.slug!r} registered twice")
    _REGISTRY[gateway.slug] = gateway
    return gateway


def get(slug: str) -> Gateway | None:
    _load_builtins()
    return _REGISTRY.get(slug)


def all_gateways() -> dict[str, Gateway]:
    _load_builtins()
    return dict(_REGISTRY)


def _load_builtins() -> None:
    if _REGISTRY:
        return
    from ownpay.gateways.bkash.adapter import BkashGateway
    from ownpay.gateways.manual.adapter import ManualGateway
    from ownpay.gateways.sandbox.adapter import SandboxGateway
    from ownpay.gateways.stripe.adapter import StripeGateway

    for gateway in (SandboxGateway(), ManualGateway(), BkashGateway(), StripeGateway()):
        register(gateway)
