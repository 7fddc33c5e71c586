"""One harness per gateway (``<slug>.py`` defining ``HARNESS``), found by module name;
``base`` (the contract a harness fills in) and ``common`` (what stand-in-backed harnesses
share) are not gateways."""

from __future__ import annotations

import importlib
import pkgutil

from tests.contract.harnesses.base import Harness

SHARED = frozenset({"base", "common"})


def harness_classes() -> dict[str, type[Harness]]:
    """Every harness module's ``HARNESS``, by the slug it declares."""
    found: dict[str, type[Harness]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in SHARED:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        harness = getattr(module, "HARNESS", None)
        assert isinstance(harness, type) and issubclass(harness, Harness), info.name
        assert harness.slug == info.name, f"harnesses/{info.name}.py declares {harness.slug!r}"
        found[harness.slug] = harness
    return found
