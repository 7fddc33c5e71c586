"""The registry of gateway types, found by convention rather than listed by hand.

Every package ``ownpay.gateways.<slug>`` whose ``adapter`` module defines ``ADAPTER`` (an
instance of its :class:`~ownpay.gateways.base.Gateway`) is a gateway: adding one touches no
file outside its own package (and its tests and docs).  Tests may :func:`register` more.
"""

from __future__ import annotations

import importlib
import pkgutil

from ownpay.gateways.base import Gateway

_REGISTRY: dict[str, Gateway] = {}
_loaded = False


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


def builtin_packages() -> list[str]:
    """The subpackages of ``ownpay.gateways`` (each one gateway), by name."""
    from ownpay import gateways

    return sorted(m.name for m in pkgutil.iter_modules(gateways.__path__) if m.ispkg)


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in builtin_packages():
        module = importlib.import_module(f"ownpay.gateways.{name}.adapter")
        gateway = getattr(module, "ADAPTER", None)
        if not isinstance(gateway, Gateway) or gateway.slug != name:
            raise TypeError(
                f"ownpay.gateways.{name}.adapter must define ADAPTER, a Gateway whose slug is "
                f"{name!r}")
        register(gateway)
