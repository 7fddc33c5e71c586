"""The tamper-evident audit log: who changed what, from every surface (the dashboard, the
API's keys, the CLI, the background worker).  ``record`` appends a row in the caller's
transaction; ``verify`` walks the hash chain."""

from ownpay.audit.chain import (
    Actor,
    Verdict,
    changes,
    cli_actor,
    record,
    record_worker_move,
    redact,
    verify,
    worker_actor,
)

__all__ = ["Actor", "Verdict", "changes", "cli_actor", "record", "record_worker_move", "redact",
           "verify", "worker_actor"]
