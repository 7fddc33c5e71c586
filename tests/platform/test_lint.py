"""`make lint` stays clean: ruff over the code, tests and benchmarks, and mypy over src."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.artifacts import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
        check=False,
    )


def test_ruff_is_clean() -> None:
    result = _run("ruff", "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    result = _run("mypy", "src")
    assert result.returncode == 0, result.stdout + result.stderr
