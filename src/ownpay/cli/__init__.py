"""The ``ownpay`` command line: ``common`` (options, running a command), ``server`` (set-up
and serving), ``main`` (the assembly); each domain keeps its commands in ``<domain>/cli.py``."""

from ownpay.cli.main import app, main

__all__ = ["app", "main"]
