"""The accessibility pass: axe-core (installed from npm by ``make install-test-assets``, at
the version the Makefile names) injected into a Playwright context as an init script --
which the pages' CSP does not apply to -- and run on the page as it is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / ".venv" / "node" / "node_modules" / "axe-core" / (
    "axe.min.js")
BLOCKING = ("serious", "critical")


async def enable(context: Any) -> None:
    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}: run `make install-test-assets`")
    await context.add_init_script(path=str(AXE))


async def violations(page: Any) -> list[str]:
    """Serious and critical violations on the page, one line each (empty: none)."""
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
            for v in result if v["impact"] in BLOCKING]
