"""The ``ownpay`` command line as the tests run it: as a process (:func:`ownpay_cli`), or in
the test process through Typer's runner (:func:`in_process`; seconds faster a command, since
a process start imports the whole application) -- :func:`ownpay_here` and, from a test's
event loop, :func:`ownpay_here_async` answer like :func:`ownpay_cli` (exit code, stdout,
stderr), so a test that checks a command's behaviour rather than its process runs here;
:func:`app_env` points a command at a test's application context."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from tests.support.markers import require_e2e
from tests.support.settings import SECRET_KEY

# Every variable a command reads or ``ownpay serve`` sets for its children: unset unless a
# test gives it, and restored after each in-process command.
OWNPAY_VARIABLES = (
    "OWNPAY_DATA_DIR", "OWNPAY_DATABASE_URL", "OWNPAY_BASE_URL", "OWNPAY_HOST", "OWNPAY_PORT",
    "OWNPAY_SECRET_KEY", "OWNPAY_CONFIG", "OWNPAY_WORKERS", "OWNPAY_RUN_WORKER",
    "OWNPAY_LOG_LEVEL", "OWNPAY_LOG_JSON", "PROMETHEUS_MULTIPROC_DIR",
)


def fresh_env(data_dir: Path) -> dict[str, str | None]:
    """A machine that never ran OwnPay: SQLite under ``data_dir``, which does not exist yet."""
    return {**dict.fromkeys(OWNPAY_VARIABLES), "OWNPAY_DATA_DIR": str(data_dir)}


def app_env(ctx: Any) -> dict[str, str | None]:
    """The variables that point a command at ``ctx``'s database, data directory and key."""
    return {"OWNPAY_DATABASE_URL": ctx.settings.resolved_database_url,
            "OWNPAY_DATA_DIR": str(ctx.settings.data_dir), "OWNPAY_SECRET_KEY": SECRET_KEY}


def in_process(env: dict[str, str | None], *args: str, input: str | None = None) -> Result:  # noqa: A002
    """``ownpay ARGS`` in this process with ``env`` (``None``: unset) and ``input`` on
    standard input; stdout and stderr apart."""
    import structlog

    from ownpay.cli import app

    saved = structlog.get_config()  # a command configures logging for its process
    try:
        return CliRunner().invoke(app, list(args), input=input,
                                  env={**dict.fromkeys(OWNPAY_VARIABLES), **env})
    finally:
        structlog.configure(**saved)


def ownpay_here(env: dict[str, str], *args: str, check: bool = True,
                input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
    """``ownpay ARGS`` in this process with ``env``, answered as :func:`ownpay_cli` answers:
    the exit code, stdout and stderr apart -- and an exception the command let escape
    printed to stderr as a process would print it (``Traceback …``, exit code 1)."""
    result = in_process(dict(env), *args, input=input)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    done = subprocess.CompletedProcess(["ownpay", *args], result.exit_code, result.stdout,
                                       stderr)
    if check:
        done.check_returncode()
    return done


async def ownpay_here_async(env: dict[str, str], *args: str,
                            check: bool = True) -> subprocess.CompletedProcess[str]:
    """:func:`ownpay_here` from a test's event loop (the command runs its own loop, in a
    thread)."""
    return await asyncio.to_thread(ownpay_here, env, *args, check=check)


def ownpay_cli(env: dict[str, str], *args: str,
               check: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m ownpay ARGS`` as a separate process with exactly ``env``."""
    require_e2e("the ownpay command line as a process")
    return subprocess.run(
        [sys.executable, "-m", "ownpay", *args], env=env, capture_output=True, text=True,
        timeout=120, check=check,
    )
