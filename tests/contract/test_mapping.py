"""Check 3: every gateway's provider statuses are a ``StrEnum`` in its pure mapping module,
each one mapped; a status string outside the enum maps to UNKNOWN, never to a completion.

Each harness lists a probe per status enum: a pure function from one status string to our
Outcome (the rest of the provider's answer being perfect).  The probes must cover every
``StrEnum`` the mapping module defines."""

from __future__ import annotations

import enum
import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ownpay.gateways.base import Outcome
from tests.contract.harnesses.base import Harness, Probe

pytestmark = pytest.mark.contract


def _mapping_module(harness_class: type[Harness]) -> object:
    return importlib.import_module(f"ownpay.gateways.{harness_class.slug}.mapping")


def test_every_status_enum_of_the_mapping_module_has_a_probe(
    harness_class: type[Harness],
) -> None:
    module = _mapping_module(harness_class)
    enums = {value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, enum.StrEnum)
             and value.__module__ == module.__name__}  # type: ignore[attr-defined]
    assert enums == {p.statuses for p in harness_class.probes}


def test_every_member_is_mapped_and_only_the_declared_ones_complete(
    prober: type[Harness], probe: Probe,
) -> None:
    for member in probe.statuses:
        outcome = probe.outcome(str(member))
        assert isinstance(outcome, Outcome)
        assert (outcome is Outcome.SUCCEEDED) == (member in probe.success), member


@given(raw=st.text(max_size=40))
def test_an_unknown_status_maps_to_unknown(prober: type[Harness], probe: Probe, raw: str,
) -> None:
    if raw in {str(m) for m in probe.statuses}:
        return
    assert probe.outcome(raw) is Outcome.UNKNOWN


@pytest.mark.parametrize("variant", [str.upper, str.lower, str.title, lambda s: f" {s}",
                                     lambda s: f"{s}\n", lambda s: s + "_"])
def test_near_misses_of_known_statuses_map_to_unknown(
    prober: type[Harness], probe: Probe, variant: object,
) -> None:
    """A status spelled almost like a known one (case, whitespace) is not that status."""
    known = {str(m) for m in probe.statuses}
    for member in probe.statuses:
        raw = variant(str(member))  # type: ignore[operator]
        if raw not in known:
            assert probe.outcome(raw) is Outcome.UNKNOWN, repr(raw)
