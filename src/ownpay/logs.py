"""structlog set-up: JSON lines in production (``OWNPAY_LOG_JSON=true``), console otherwise.

Secrets never reach the log: API keys, credentials and webhook secrets are not passed to
log calls anywhere, and this processor masks known secret-looking keys defensively.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict

from ownpay.config import Settings

_SECRET_KEYS = {"api_key", "secret", "password", "app_secret", "secret_key", "authorization"}


def _mask(_logger: Any, _name: str, event: EventDict) -> EventDict:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "***"
    return event


class _Stderr:
    """Writes each line to whatever ``sys.stderr`` is *when the line is logged*.

    ``structlog.PrintLoggerFactory(file=sys.stderr)`` binds the stream object of the moment
    ``configure_logging`` ran; when that object is later closed (a CLI command run in-process
    by a test harness that swaps stderr, say), every later log line would raise."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> _Stderr:
    return _Stderr()


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    """``quiet`` (operator commands): warnings and errors only, unless the level is
    ``debug`` -- a command's output is its result, not the info lines of what it did."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    if quiet and level > logging.DEBUG:
        level = max(level, logging.WARNING)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
