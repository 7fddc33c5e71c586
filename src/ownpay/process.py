"""What every long-running OwnPay process does once it has started."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, FastAPI routes, SQLAlchemy metadata,
    Pydantic models: ~160,000 objects) out of the garbage collector's reach.

    Nothing of it becomes garbage while the process runs, but every full (generation 2)
    collection walked all of it: pauses of tens of milliseconds on a busy 2-core machine
    (docs/benchmarks.md).  Server and worker processes only -- an app given a context
    (tests, embedding) leaves the collector alone."""
    gc.collect()
    gc.freeze()
