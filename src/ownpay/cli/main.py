"""The ``ownpay`` command line, assembled from each domain's commands."""

from __future__ import annotations

import os
import sys

import typer

from ownpay.cli.common import Commands
from ownpay.cli.server import server_app
from ownpay.compat.cli import compat_app
from ownpay.config import ConfigError
from ownpay.customers.cli import customers_app
from ownpay.dashboard.cli import audit_app, users_app
from ownpay.domains.cli import domains_app
from ownpay.invoices.cli import invoices_app
from ownpay.ledger.cli import fees_app, ledger_app
from ownpay.links.cli import links_app
from ownpay.merchants.cli import gateways_app, keys_app, merchants_app
from ownpay.payments.cli import payments_app
from ownpay.refunds.cli import refunds_app
from ownpay.sms.cli import devices_app, sms_app
from ownpay.transactions.cli import transactions_app
from ownpay.webhooks.cli import webhooks_app

app = Commands(help="OwnPay: self-hosted payment orchestrator.", no_args_is_help=True)
app.registered_commands.extend(server_app.registered_commands)
for name, group in (
    ("merchants", merchants_app), ("api-keys", keys_app), ("gateways", gateways_app),
    ("payments", payments_app), ("webhooks", webhooks_app),
    ("refunds", refunds_app), ("ledger", ledger_app), ("fees", fees_app),
    ("transactions", transactions_app), ("users", users_app), ("audit", audit_app),
    ("compat", compat_app), ("sms", sms_app), ("devices", devices_app),
    ("links", links_app), ("domains", domains_app), ("customers", customers_app),
    ("invoices", invoices_app),
):
    app.add_typer(group, name=name)


def main() -> None:
    # Everything an OwnPay process creates (the SQLite database and its journal files, the
    # installation key, metrics files, exports) is its owner's alone.
    os.umask(0o077)
    try:
        app()
    except ConfigError as exc:  # raised before a command could catch it
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
