"""What the gateway conformance battery (tests/contract/) shares with its test modules: the
harness of every registered gateway, and the provider HTTP client that records whether each
request went through the provider executor."""

from __future__ import annotations

from typing import Any

import httpx

from ownpay.gateways import registry
from ownpay.gateways.executor import EXTENSION
from tests.contract.harnesses import harness_classes

HARNESSES = harness_classes()


def registered() -> list[str]:
    return sorted(registry.all_gateways())


class ProviderTraffic:
    """Every request the adapters sent on the battery's HTTP client."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    @property
    def bypassing(self) -> list[str]:
        return [f"{r.method} {r.url}" for r in self.requests if not r.extensions.get(EXTENSION)]

    async def record(self, request: httpx.Request) -> None:
        self.requests.append(request)


def provider_client(traffic: ProviderTraffic, **options: Any) -> httpx.AsyncClient:
    """A client like ``AppContext.http`` (bounded timeouts, no redirects) that records."""
    return httpx.AsyncClient(
        timeout=options.pop("timeout", httpx.Timeout(10.0, connect=5.0)),
        follow_redirects=False, headers={"User-Agent": "OwnPay/0.1"},
        event_hooks={"request": [traffic.record]}, **options,
    )
