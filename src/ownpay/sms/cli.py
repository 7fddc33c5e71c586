"""``ownpay sms …``: so far the pattern tester -- what the parsers read from a pasted
message (issue 13: "a regex tester shows what a pattern extracts")."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ownpay.cli.common import Commands, JsonOpt, out

sms_app: typer.Typer = Commands(
    help="Wallet SMS (personal bKash, Nagad, Rocket, Upay): the pattern tester.",
    no_args_is_help=True)


@sms_app.command("parse")
def sms_parse(
    sender: Annotated[str, typer.Option(
        help="The sender id the phone shows (bKash, NAGAD, 16216, upay, …).")],
    as_json: JsonOpt = False,
) -> None:
    """Read one message from standard input and show what the parsers make of it: its
    kind (received, cash_in, debit, cashback, otp, promotion, unrecognised, not_a_provider),
    the pattern that matched and the fields it read.  Changes nothing; exits 1 when no
    pattern recognises the message."""
    from ownpay.sms.parsing import NOT_A_PROVIDER, UNRECOGNISED, parse

    result = parse(sender, sys.stdin.read())
    shown = result.as_dict()
    out(shown, as_json, lambda: typer.echo("\n".join(
        f"{name}: {value}" for name, value in shown.items() if value is not None)))
    if result.kind in (NOT_A_PROVIDER, UNRECOGNISED):
        raise typer.Exit(1)
