"""No test module imports another test module or a conftest.

Shared test helpers live in the ``tests/support/`` package.  A test module that imports
another (``from tests.sms.test_matching import shop``) runs the other one's top level too
-- its imports, its constants, whatever it sets up -- whenever it runs, and couples the two:
renaming, moving or deleting a test there breaks an unrelated file, and the helper's real
home is a file nobody reads for helpers.  A ``conftest`` is pytest's to load (as a plugin,
for its fixtures); importing it as a module does the same and can load it twice.

This check walks every ``tests/**/*.py`` with ``ast`` and lists each ``import`` or ``from
... import`` (at any nesting level, inside functions too) of a module whose last dotted
part starts with ``test_`` or is ``conftest``.  ``from package import name`` cannot tell
a module from an attribute, so a name there that starts with ``test_`` counts too:
imported into a test module, even a test function would run a second time.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _forbidden(name: str | None) -> bool:
    last = (name or "").rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def _forbidden_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a test module or a conftest in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # ``from . import test_x`` names the test module in the alias, not in ``module``.
            prefix = "." * node.level + (node.module or "")
            joint = prefix if prefix.endswith(".") else prefix + "."
            names = [prefix, *(joint + alias.name for alias in node.names)]
        else:
            continue
        found += [(node.lineno, name) for name in dict.fromkeys(names) if _forbidden(name)]
    return sorted(found)


def test_the_check_sees_every_shape_of_import() -> None:
    source = """
import tests.sms.test_matching
from tests.sms.test_matching import shop
from tests.dashboard import conftest
from . import test_matching as other
from .conftest import SIZES


def helper():
    from tests.sms.test_installation import wallet
    import tests.gateways.nagad.conftest as nagad


from tests.support.sms import shop, test_mode
import tests.support.testing
from tests.gateways.personal import personal_wallets
"""
    assert [line for line, _ in _forbidden_imports(source)] == [2, 3, 4, 5, 6, 10, 11, 14]


def test_no_test_module_or_conftest_is_imported() -> None:
    offences = [f"{path.relative_to(TESTS.parent)}:{line}: imports {name}"
                for path in sorted(TESTS.rglob("*.py"))
                for line, name in _forbidden_imports(path.read_text(encoding="utf-8"))]
    assert not offences, "move shared helpers into tests/support:\n" + "\n".join(offences)
