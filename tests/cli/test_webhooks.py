"""``ownpay webhooks add|list|rotate|remove`` against the real database: once through the
installed entry point in a subprocess, the rest through Typer's runner in a thread (the
command line's start-up costs seconds per process)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ownpay.context import AppContext
from ownpay.webhooks.models import WebhookEndpoint
from tests.support.commands import in_process, ownpay_cli
from tests.support.processes import server_env

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def runner_for(env: dict[str, str]) -> Callable[..., Awaitable[Ran]]:
    own = {k: v for k, v in env.items() if k.startswith("OWNPAY_")}

    async def run(*args: str, check: bool = True) -> Ran:
        result = await asyncio.to_thread(in_process, own, *args)
        ran = Ran(result.exit_code, result.stdout, result.stderr)
        if check:
            assert ran.returncode == 0, (args, ran.stdout, ran.stderr, result.exception)
        return ran

    return run


async def test_webhooks_cli_round_trip(
    ctx: AppContext, database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, tmp_path / "data")
    cli = runner_for(env)
    slug = "cli-wh-" + secrets.token_hex(4)
    await cli("merchants", "create", "--slug", slug, "--name", "CLI Hooks")

    added = json.loads(
        ownpay_cli(  # the real `ownpay` process, once
            env,
            "webhooks",
            "add",
            "--merchant",
            slug,
            "--mode",
            "test",
            "--url",
            "http://127.0.0.1:9/hooks",
            "--events",
            "payment.completed,payment.failed",
            "--json",
        ).stdout
    )
    assert added["secret"].startswith("whsec_") and added["events"] == [
        "payment.completed",
        "payment.failed",
    ]
    human = await cli(
        "webhooks",
        "add",
        "--merchant",
        slug,
        "--mode",
        "live",
        "--url",
        "https://shop.example/hooks",
    )
    assert "whsec_" in human.stdout and "shown once" in human.stdout

    listed = (await cli("webhooks", "list", "--merchant", slug, "--json")).stdout
    rows = json.loads(listed)
    assert {(r["mode"], r["url"]) for r in rows} == {
        ("test", "http://127.0.0.1:9/hooks"),
        ("live", "https://shop.example/hooks"),
    }
    assert "whsec_" not in listed and 'secret"' not in listed

    rotated = json.loads((await cli("webhooks", "rotate", added["id"], "--json")).stdout)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != added["secret"]
    assert rotated["previous_secret_expires_at"]

    removed = json.loads((await cli("webhooks", "remove", added["id"], "--json")).stdout)
    assert removed == {"id": added["id"], "deleted": True}
    rows = json.loads(
        (await cli("webhooks", "list", "--merchant", slug, "--mode", "test", "--json")).stdout
    )
    assert rows == []
    async with ctx.sessions() as s:
        row = await s.get(WebhookEndpoint, added["id"])
    assert row is not None and row.deleted_at is not None

    for args, words in [
        (("add", "--merchant", slug, "--mode", "live", "--url", "http://shop.example/x"), "https"),
        (
            (
                "add",
                "--merchant",
                slug,
                "--mode",
                "test",
                "--url",
                "http://x.example/",
                "--events",
                "nope",
            ),
            "Unknown event type",
        ),
        (
            ("add", "--merchant", "no-such-shop", "--mode", "test", "--url", "http://x.example/"),
            "does not exist",
        ),
        (("remove", added["id"]), "does not exist"),
        (("rotate", "we_missing"), "does not exist"),
    ]:
        failed = await cli("webhooks", *args, check=False)
        assert failed.returncode == 1 and words in failed.stderr, (args, failed.stderr)
        assert "Traceback" not in failed.stderr
