"""Where the suite keeps what a person looks at afterwards: ``test-output/`` at the root of
the checkout (screenshots, the coverage report).

Several pytest-xdist workers write there at once, so a file a test writes is named after the
test's node id (unique in a run), never after a fixed name or the test function alone.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"


def worker_id() -> str:
    """``gw0``, ``gw1``, … under pytest-xdist; ``main`` in a run without workers."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def artifact_name(nodeid: str) -> str:
    """A file-name-safe form of a test's node id (``tests/a/test_b.py::test_c[x]``)."""
    path, _, rest = nodeid.partition("::")
    path = path.removeprefix("tests/").removesuffix(".py").replace("/", ".")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{path}.{rest}" if rest else path).strip("_")
