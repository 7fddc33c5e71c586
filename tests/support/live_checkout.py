"""What the gateways' browser tests share: a real ``ownpay serve`` process, the provider's
stand-in and the shop site bundled as a :class:`Setup`, creating and reading payments
through that server's API, and the two window sizes the customer pays at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.factories import MerchantKeys
from tests.support.processes import ServerProcess

# ``await shot(page, name)``: the screenshot fixture of tests/conftest.py.
Shot = Callable[[Any, str], Awaitable[Path]]

# Browser context options per window size (the ``tab`` fixture runs a test at each).
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True},
}


@dataclass
class Setup:
    server: ServerProcess
    sim: Any  # the provider's stand-in (its ``url`` or ``base_url``, its state)
    shop_url: str
    merchant: MerchantKeys


async def create_live_intent(setup: Setup, body: dict[str, Any]) -> dict[str, Any]:
    """Create a payment intent on the live server; its JSON."""
    async with httpx.AsyncClient(base_url=setup.server.url, timeout=10) as api:
        r = await api.post("/api/v1/payment-intents", json=body, headers=setup.merchant.auth())
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def live_payment(setup: Setup, txn: str) -> dict[str, Any]:
    """The payment as the live server's API shows it."""
    async with httpx.AsyncClient(base_url=setup.server.url, timeout=10) as api:
        r = await api.get(f"/api/v1/payment-intents/{txn}", headers=setup.merchant.auth())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def size_of(page: Any) -> str:
    """``phone`` or ``desktop``: the size a ``tab`` page was opened at."""
    viewport = page.viewport_size or {"width": 0}
    return "phone" if viewport["width"] < 500 else "desktop"
