"""The ``ownpay`` command line as the tests run it."""

from __future__ import annotations

import subprocess
import sys

from tests.support.markers import require_e2e


def ownpay_cli(env: dict[str, str], *args: str,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m ownpay ARGS`` as a separate process with exactly ``env``."""
    require_e2e("the ownpay command line as a process")
    return subprocess.run(
        [sys.executable, "-m", "ownpay", *args], env=env, capture_output=True, text=True,
        timeout=120, check=check,
    )
