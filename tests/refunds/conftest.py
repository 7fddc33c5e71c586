"""Refund test fixtures: test-only gateways (``tests/support/fake_gateways.py``) and a
merchant using them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ownpay.context import AppContext
from tests.support import fake_gateways as fakes
from tests.support.factories import MerchantKeys, create_merchant


@pytest.fixture
def fake_gateways() -> Iterator[None]:
    yield from fakes.registered()


@pytest.fixture
async def fake_merchant(ctx: AppContext, fake_gateways: None) -> MerchantKeys:
    return await create_merchant(ctx, gateways=(
        ("test", "sandbox"), ("test", "manual"),
        *(("test", g.slug) for g in fakes.FAKES),
    ))
