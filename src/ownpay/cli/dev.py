"""``ownpay dev …``: developer tools."""

from __future__ import annotations

from typing import Annotated

import typer

dev_app = typer.Typer(help="Developer tools (simulators).", no_args_is_help=True)

@dev_app.command("bkash-simulator")
def dev_bkash(port: Annotated[int, typer.Option()] = 8420,
              host: Annotated[str, typer.Option()] = "127.0.0.1") -> None:
    """Run the bKash Tokenized Checkout simulator for local demos."""
    from ownpay.devtools.bkash_simulator import main as run_sim

    run_sim(host, port)


