"""Transaction-query fixtures: a known set of payments per merchant and mode, seeded once
per module (``tests/support/transactions.py`` has the oracle and the seeding)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ownpay.context import AppContext
from tests.support.factories import create_merchant
from tests.support.transactions import (
    World,
    asgi_client,
    insert_specs,
    put_fee_rule,
    refund_through_api,
    world_specs,
)


@pytest.fixture(scope="module")
async def world(ctx: AppContext, app: Any) -> AsyncIterator[World]:
    a = await create_merchant(ctx)
    b = await create_merchant(ctx)
    specs = world_specs(a, b)
    async with asgi_client(app) as client:
        await put_fee_rule(client, a)
        await insert_specs(ctx, specs)
        for s in specs:
            if s.status in ("refunded", "partially_refunded"):
                await refund_through_api(client, a, s)
    yield World(a=a, b=b, specs=specs)
