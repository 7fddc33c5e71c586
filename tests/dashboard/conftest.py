"""The dashboard's browser fixture: ``dash`` is a Chromium page at desktop and at phone
size (each test runs at both) with axe-core loaded.  The helpers its tests use (the page
check, following a link, signing in) are in ``tests/support/dashboard_browser.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import axe
from tests.support.browser import new_page
from tests.support.dashboard_browser import SIZES


@pytest.fixture(params=sorted(SIZES))
async def dash(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    context, page = await new_page(browser, **SIZES[request.param])
    await axe.enable(context)
    page.size_name = request.param
    try:
        yield page
    finally:
        await context.close()
