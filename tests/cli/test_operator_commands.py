"""What an operator reads from ``ownpay`` commands: help without type noise, gateways and
their settings named from the registry, every bad filter at once, amounts in the currency's
decimals, and no log line mixed into a command's output.  In-process through Typer's
runner, on a fresh SQLite installation or on the test database."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from ownpay.cli import app
from ownpay.gateways import registry
from tests.support.checkout import paid
from tests.support.commands import fresh_env, in_process
from tests.support.factories import create_merchant
from tests.support.processes import server_env


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, str | None]:
    env = fresh_env(tmp_path / "data")
    assert in_process(env, "init").exit_code == 0
    return env


def every_command() -> Iterator[list[str]]:
    def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


TYPE_NOISE = re.compile(r"<(?:bool|int|str|float|path|list\[\w+\]|[a-z]+ range)>")


def test_no_help_shows_python_types() -> None:
    commands = list(every_command())
    assert ["gateways", "enable"] in commands and ["merchants", "update"] in commands
    for path in commands:
        result = in_process({}, *path, "--help")
        assert result.exit_code == 0, (path, result.stderr)
        assert not TYPE_NOISE.search(result.stdout), (path, TYPE_NOISE.findall(result.stdout))
        # A flag takes no value, so none is shown after it.
        for flag in ("--help", "--json"):
            line = next((ln for ln in result.stdout.splitlines() if f" {flag} " in ln), None)
            if line is not None:
                assert re.search(rf"{flag}\s+(?:Show this|Machine-readable)", line), (path, line)
    created = in_process({}, "merchants", "create", "--help").stdout
    assert re.search(r"--intent-lifetime\s+N\s", created)
    assert re.search(r"--database-url\s+URL\s", created)


def test_gateways_enable_help_lists_every_gateway_and_its_settings() -> None:
    shown = " ".join(in_process({}, "gateways", "enable", "--help").stdout.split())
    gateways = registry.all_gateways()
    assert len(gateways) >= 4
    for slug, gateway in gateways.items():
        fields = [*gateway.credential_fields, *gateway.setting_fields]
        keys = ", ".join(f.name + ("*" if f.required else "") for f in fields) or "no settings"
        modes = "|".join(m for m in ("test", "live") if m in gateway.modes)
        assert f"{slug} ({modes}): {keys}" in shown, slug


def test_an_unknown_setting_names_the_valid_ones(installed) -> None:
    manual = in_process(installed, "gateways", "enable", "manual", "--merchant", "demo",
                        "--mode", "test", "--set", "instruction=typo")
    assert manual.exit_code == 1
    assert ("instruction: Unknown setting for manual; its settings are: instructions, fields, "
            "display_name.") in manual.stderr
    sandbox = in_process(installed, "gateways", "enable", "sandbox", "--merchant", "demo",
                         "--mode", "test", "--set", "colour=red")
    assert sandbox.exit_code == 1
    assert "colour: Unknown setting: sandbox takes no settings." in sandbox.stderr


def test_transactions_export_reports_every_bad_filter_at_once(installed) -> None:
    result = in_process(installed, "transactions", "export", "--merchant", "demo",
                        "--mode", "tset", "--status", "paid", "--created-from", "yesterday")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: Validation failed. (mode: Mode must be test or live.")
    assert "status: Unknown status 'paid'" in result.stderr
    assert "created_from:" in result.stderr
    alone = in_process(installed, "transactions", "export", "--merchant", "demo",
                       "--mode", "tset")
    assert "mode: Mode must be test or live." in alone.stderr


def test_merchants_update_changes_the_profile_validated_as_on_creation(installed) -> None:
    assert in_process(installed, "merchants", "create", "--slug", "shop", "--name", "Shop",
                      "--logo-url", "https://shop.example/logo.png").exit_code == 0
    changed = in_process(installed, "merchants", "update", "shop", "--name", " Shop Two ",
                         "--base-url", "https://pay.shop.example/", "--primary-color", "#112233",
                         "--intent-lifetime", "600", "--json")
    assert changed.exit_code == 0, changed.stderr
    assert json.loads(changed.stdout) == {
        "id": json.loads(changed.stdout)["id"], "slug": "shop", "name": "Shop Two",
        "status": "active", "base_url": "https://pay.shop.example",
        "logo_url": "https://shop.example/logo.png", "primary_color": "#112233",
        "intent_lifetime": 600, "checkout_language": "en",
    }
    cleared = in_process(installed, "merchants", "update", "shop", "--base-url", "",
                         "--logo-url", "")
    assert cleared.stdout == "updated merchant shop: base_url (cleared), logo_url (cleared)\n"
    listed = json.loads(in_process(installed, "merchants", "list", "--json").stdout)
    shop = next(m for m in listed if m["slug"] == "shop")
    assert (shop["name"], shop["base_url"]) == ("Shop Two", None)

    bad = in_process(installed, "merchants", "update", "shop", "--name", " ", "--base-url",
                     "ftp://x", "--primary-color", "blue", "--intent-lifetime", "5")
    assert bad.exit_code == 1 and "Traceback" not in bad.stderr
    for field in ("name:", "base_url: The URL must be an absolute", "primary_color:",
                  "intent_lifetime:"):  # every bad field at once
        assert field in bad.stderr, field
    long_logo = in_process(installed, "merchants", "update", "shop", "--logo-url",
                           "https://shop.example/" + "a" * 500)
    assert "logo_url: The URL must be at most 500 characters." in long_logo.stderr
    nothing = in_process(installed, "merchants", "update", "shop")
    assert nothing.exit_code == 1 and "nothing to change" in nothing.stderr
    missing = in_process(installed, "merchants", "update", "nope", "--name", "X")
    assert missing.exit_code == 1 and "Merchant 'nope' does not exist." in missing.stderr
    unchanged = json.loads(in_process(installed, "merchants", "list", "--json").stdout)
    assert next(m for m in unchanged if m["slug"] == "shop") == shop


AMOUNT = r"-?\d+\.\d\d USD"  # what every USD amount an operator reads looks like


async def test_amounts_show_the_currency_decimals_and_no_log_line_is_mixed_in(
    client, ctx, database_url: str, tmp_path: Path
) -> None:
    env: dict[str, str | None] = {**server_env(database_url, tmp_path / "data")}

    async def run(*args: str, **extra: str) -> Any:
        result = await asyncio.to_thread(in_process, {**env, **extra}, *args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    m = await create_merchant(ctx)
    rule = await run("fees", "set", "--merchant", m.slug, "--mode", "test", "--gateway",
                     "sandbox", "--currency", "USD", "--flat", "0.3", "--percent", "2.9",
                     "--min", "0.5")
    assert "USD  0.30 USD + 2.9% min 0.50 USD" in rule.stdout
    txn = await paid(client, m, "14.50")

    refunded = await run("refunds", "create", txn, "--amount", "3.2")
    assert re.search(rf"{txn}  test  3\.20 USD  completed", refunded.stdout), refunded.stdout
    assert refunded.stderr == ""  # refund_created, refund_sending, … are info lines
    listed = await run("refunds", "list", "--transaction", txn)
    assert "  3.20 USD  completed" in listed.stdout

    balances = (await run("ledger", "balances", "--merchant", m.slug, "--mode", "test")).stdout
    assert re.search(rf"^USD  \(net payable to the merchant: {AMOUNT}\)$", balances, re.M)
    accounts = balances.splitlines()[1:]
    assert accounts and all(re.search(rf" {AMOUNT}  \([\w-]+\)$", line) for line in accounts), (
        balances)
    assert re.search(r"gateway_clearing +11\.30 USD  \(asset\)$", balances, re.M)  # 14.50 - 3.20

    logged = await run("refunds", "create", txn, "--amount", "1", OWNPAY_LOG_LEVEL="debug")
    assert "  1.00 USD  completed" in logged.stdout and "refund_created" in logged.stderr


def test_a_setting_can_be_read_from_a_file(installed, tmp_path) -> None:
    instructions = tmp_path / "instructions.md"
    instructions.write_text("Send **bKash** to 01700-000000,\nthen enter the transaction id.\n")
    done = in_process(installed, "gateways", "enable", "manual", "--merchant", "demo",
                      "--mode", "test", "--set-file", f"instructions={instructions}")
    assert done.exit_code == 0, done.stderr
    [database] = Path(str(installed["OWNPAY_DATA_DIR"])).glob("*.db")
    with sqlite3.connect(database) as db:
        [(stored,)] = db.execute("SELECT settings FROM gateway_accounts "
                                 "WHERE gateway = 'manual' AND mode = 'test'").fetchall()
    assert json.loads(stored)["instructions"] == (
        "Send **bKash** to 01700-000000,\nthen enter the transaction id.")
    missing = in_process(installed, "gateways", "enable", "manual", "--merchant", "demo",
                         "--mode", "test", "--set-file", f"instructions={tmp_path / 'nope'}")
    assert missing.exit_code == 1 and "cannot read" in missing.stderr
    big = tmp_path / "big"
    big.write_bytes(b"x" * (64 * 1024 + 1))
    too_big = in_process(installed, "gateways", "enable", "manual", "--merchant", "demo",
                         "--mode", "test", "--set-file", f"instructions={big}")
    assert too_big.exit_code == 1 and "over 64 KiB" in too_big.stderr
