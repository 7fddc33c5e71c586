"""Check 7: an adapter package is a mapper.  Its modules import only the contract
(``ownpay.gateways.base``), the provider executor, pure helpers (``ownpay.money``,
``ownpay.ids``, ``ownpay.i18n``, the personal wallets' ``ownpay.gateways.personal``), their
own package and third-party libraries -- never the database, the app context, models, a service or
the state store; its mapping module is pure (no executor, SDK, logging, clock or I/O);
and nothing in it sends HTTP except through the executor.

(``make lint`` checks the same rules for the whole tree with import-linter; this check
runs them per registered gateway, so a new gateway's package is covered by its harness.)"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import grimp
import pytest

from tests.contract.harnesses.base import Harness, adapter

pytestmark = pytest.mark.contract

# ``ownpay.gateways.personal``: the personal-wallet family's shared rules (itself only on
# ``base``; checked below).  ``ownpay.i18n``: the customer messages' catalogue (``N_`` marks
# a message, ``gettext`` reads it in the page's language) -- itself only on ``ownpay.money``
# (checked below), no database, context or service.
ALLOWED_OWNPAY = {"ownpay.gateways.base", "ownpay.gateways.executor", "ownpay.money",
                  "ownpay.ids", "ownpay.gateways.personal", "ownpay.i18n"}
NEVER_IN_A_PACKAGE = {"sqlalchemy", "httpx", "requests", "aiohttp", "urllib3", "socket"}
NEVER_IN_MAPPING = NEVER_IN_A_PACKAGE | {
    "ownpay.gateways.executor", "stripe", "structlog", "logging", "asyncio", "time", "os",
    "random", "secrets",
}
# Calls a mapping module must not make: the clock, files, printing.
CLOCK_OR_IO = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "open", "print",
               "sleep"}
HTTP_METHODS = {"request", "get", "post", "put", "patch", "delete", "send", "stream"}


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("ownpay", include_external_packages=True)


def package_of(harness: type[Harness]) -> str:
    return type(adapter(harness)).__module__.rsplit(".", 1)[0]


def modules_of(harness: type[Harness]) -> list[str]:
    package = package_of(harness)
    return sorted({package} | graph().find_descendants(package))


def test_the_package_imports_only_the_contract_executor_and_pure_helpers(
    harness_class: type[Harness],
) -> None:
    package = package_of(harness_class)
    assert package == f"ownpay.gateways.{harness_class.slug}"
    wrong: list[str] = []
    for module in modules_of(harness_class):
        for imported in graph().find_modules_directly_imported_by(module):
            top = imported.split(".")[0]
            if imported.startswith("ownpay"):
                if imported not in ALLOWED_OWNPAY and not imported.startswith(package):
                    wrong.append(f"{module} -> {imported}")
            elif top in NEVER_IN_A_PACKAGE:
                wrong.append(f"{module} -> {imported}")
    assert wrong == []


def test_the_mapping_module_is_pure(harness_class: type[Harness]) -> None:
    mapping = f"{package_of(harness_class)}.mapping"
    assert mapping in graph().modules, f"{mapping} is missing"
    imported = graph().find_modules_directly_imported_by(mapping)
    assert {m for m in imported if m.split(".")[0] in NEVER_IN_MAPPING
            or m in NEVER_IN_MAPPING} == set()
    assert not {m for m in imported if m.startswith(package_of(harness_class))
                and m.rsplit(".", 1)[-1] in ("adapter", "client")}
    tree = ast.parse(Path(_file(mapping)).read_text())
    calls = {node.func.attr if isinstance(node.func, ast.Attribute) else
             getattr(node.func, "id", "") for node in ast.walk(tree)
             if isinstance(node, ast.Call)}
    assert calls & CLOCK_OR_IO == set()


def test_no_module_of_the_package_sends_http_itself(harness_class: type[Harness]) -> None:
    """``ctx.http`` is handed to the executor, never called directly."""
    direct: list[str] = []
    for module in modules_of(harness_class):
        tree = ast.parse(Path(_file(module)).read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in HTTP_METHODS
                    and isinstance(node.func.value, ast.Attribute)
                    and node.func.value.attr in ("http", "_http")):
                direct.append(f"{module}:{node.lineno}")
    assert direct == []


def _file(module: str) -> str:
    __import__(module)
    path = sys.modules[module].__file__
    assert path
    return path


def test_the_personal_wallet_rules_are_pure() -> None:
    imported = graph().find_modules_directly_imported_by("ownpay.gateways.personal")
    ours = {m for m in imported if m.startswith("ownpay")}
    assert ours <= {"ownpay.gateways.base", "ownpay.i18n"} and "ownpay.gateways.base" in ours
    assert not {m.split(".")[0] for m in imported} & NEVER_IN_MAPPING


def test_the_message_catalogue_is_a_pure_helper() -> None:
    """``ownpay.i18n``, which adapters may import, stands on ``ownpay.money`` alone."""
    imported = graph().find_modules_directly_imported_by("ownpay.i18n")
    assert {m for m in imported if m.startswith("ownpay")} <= {"ownpay.money"}
    assert not {m.split(".")[0] for m in imported} & NEVER_IN_A_PACKAGE
