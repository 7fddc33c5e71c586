"""The battery covers every gateway: one harness per registered gateway, and a harness for
a gateway that talks to a provider can make that provider say everything the checks need."""

from __future__ import annotations

import pytest

from tests.contract.harnesses.base import TAMPERINGS, Harness
from tests.support.contract import HARNESSES, registered

pytestmark = pytest.mark.contract


def test_every_registered_gateway_has_a_harness_and_every_harness_a_gateway() -> None:
    assert set(HARNESSES) == set(registered()), (
        "add tests/contract/harnesses/<slug>.py (HARNESS = …) for each new gateway"
    )


def test_a_provider_backed_gateway_can_be_driven_into_every_situation(
    harness_class: type[Harness],
) -> None:
    if not harness_class.talks_http:
        # Its own provider (sandbox) or none (manual): nothing can report another payment.
        assert harness_class.tamperings == ()
        return
    assert set(harness_class.tamperings) == set(TAMPERINGS)
    assert harness_class().unreachable_credentials(9) is not None
    assert harness_class.amounts is not None, "a provider's unit needs its conversion"


def test_every_gateway_package_is_registered_without_a_list_to_edit() -> None:
    """A new gateway is a package with ``ADAPTER`` in its adapter module: nothing else."""
    from pathlib import Path

    from ownpay import gateways
    from ownpay.gateways import registry

    folders = sorted(p.name for p in Path(gateways.__path__[0]).iterdir()
                     if (p / "__init__.py").exists())
    assert registry.builtin_packages() == folders
    assert set(folders) <= set(registry.all_gateways())


def test_a_package_without_an_adapter_instance_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from ownpay.gateways import registry

    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "builtin_packages", lambda: ["broken"])
    monkeypatch.setitem(__import__("sys").modules, "ownpay.gateways.broken.adapter",
                        types.ModuleType("ownpay.gateways.broken.adapter"))
    monkeypatch.setitem(__import__("sys").modules, "ownpay.gateways.broken",
                        types.ModuleType("ownpay.gateways.broken"))
    with pytest.raises(TypeError, match="must define ADAPTER"):
        registry.all_gateways()
