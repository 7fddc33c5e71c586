"""Check 1: what a gateway declares is what it does.  The core decides by the flags alone
(it never asks for a gateway by name), so a flag without its method -- or a method without
its flag -- is a path the core takes wrongly or never."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

from ownpay.gateways.base import ConfigField, Gateway
from tests.contract.harnesses.base import Harness, adapter

pytestmark = pytest.mark.contract

FLAG_METHODS = {
    "supports_refunds": "refund",
    "supports_refund_query": "query_refund",
    "supports_status_query": "query_status",
    "supports_webhooks": "parse_webhook",
    "supports_capture": "capture",
    "supports_refund_listing": "list_refunds",
}
_ASSET = re.compile(r"""asset\(\s*['"]gateway-([\w-]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)""")


def _overrides(gateway: Gateway, method: str) -> bool:
    return getattr(type(gateway), method) is not getattr(Gateway, method)


@pytest.mark.parametrize(("flag", "method"), sorted(FLAG_METHODS.items()))
def test_each_flag_agrees_with_its_method(harness_class: type[Harness], flag: str,
                                          method: str) -> None:
    gateway = adapter(harness_class)
    assert getattr(gateway, flag) == _overrides(gateway, method), (
        f"{gateway.slug}: {flag}={getattr(gateway, flag)} but {method}() "
        f"{'is' if _overrides(gateway, method) else 'is not'} overridden"
    )


def test_flags_that_depend_on_others(harness_class: type[Harness]) -> None:
    gateway = adapter(harness_class)
    if gateway.idempotent_refunds or gateway.supports_refund_query:
        assert gateway.supports_refunds
    if gateway.supports_refund_listing:
        assert gateway.supports_refunds
    assert gateway.modes and gateway.modes <= {"test", "live"}
    assert gateway.currencies is None or all(len(c) == 3 and c.isupper()
                                             for c in gateway.currencies)


def test_identity_and_config_fields(harness_class: type[Harness]) -> None:
    gateway = adapter(harness_class)
    assert type(gateway).__module__ == f"ownpay.gateways.{gateway.slug}.adapter"
    assert re.fullmatch(r"[a-z][a-z0-9_]{1,31}", gateway.slug) and gateway.display_name
    names = [f.name for f in (*gateway.credential_fields, *gateway.setting_fields)]
    assert len(names) == len(set(names))
    assert all(isinstance(f, ConfigField) for f in gateway.credential_fields)


def test_templates_and_static_live_beside_the_adapter(harness_class: type[Harness]) -> None:
    gateway = adapter(harness_class)
    adapter_file = sys.modules[type(gateway).__module__].__file__
    assert adapter_file
    assert gateway.templates is not None and gateway.templates.is_dir()
    assert gateway.templates.parent.samefile(Path(adapter_file).parent)
    for template in gateway.templates.glob("*.html"):
        for slug, name in _ASSET.findall(template.read_text()):
            assert slug == gateway.slug, f"{template.name} loads another gateway's asset"
            assert gateway.static is not None and (gateway.static / name).is_file(), name
    if gateway.static is not None:
        assert gateway.static.is_dir() and any(gateway.static.iterdir())


async def test_start_checkout_names_a_template_it_ships(harness: Harness,
                                                        http: httpx.AsyncClient) -> None:
    gateway = harness.gateway
    view = await gateway.start_checkout(harness.context(http), harness.payment())
    if view.redirect_url is None:
        assert view.template, "neither a fragment nor a redirect"
    if view.template is not None:
        assert gateway.templates is not None
        assert (gateway.templates / view.template).is_file(), view.template
    if view.needs_javascript:
        assert not gateway.works_without_javascript
