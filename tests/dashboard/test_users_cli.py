"""``ownpay users …`` and the demo owner of ``make run``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ownpay.setup import DEMO_OWNER_EMAIL, quickstart_owner
from tests.support.commands import app_env, in_process
from tests.support.dashboard import sign_in

pytestmark = pytest.mark.api


async def cli(ctx: Any, *args: str) -> Any:
    """The command in a thread: it runs its own event loop."""
    return await asyncio.to_thread(in_process, app_env(ctx), *args)


async def test_create_prints_a_password_once_that_signs_in(ctx: Any, client: httpx.AsyncClient,
                                                           merchant: Any) -> None:
    email = f"cli-{merchant.slug}@ops.test"
    made = await cli(ctx, "users", "create", "--email", email.upper(), "--role",
                      "manager", "--merchant", merchant.slug, "--json")
    assert made.exit_code == 0, made.stderr
    body = json.loads(made.stdout)
    assert body["email"] == email and body["role"] == "manager" and len(body["password"]) == 20
    assert (await sign_in(client, email, body["password"])).status_code == 303
    listed = json.loads((await cli(ctx, "users", "list", "--json")).stdout)
    mine = next(u for u in listed if u["email"] == email)
    assert mine["merchant"] == merchant.slug and "password" not in mine
    assert body["password"] not in (await cli(ctx, "users", "list")).stdout


async def test_password_from_stdin_and_the_refusals(ctx: Any, merchant: Any) -> None:
    from typer.testing import CliRunner

    from ownpay.cli import app
    from tests.support.commands import OWNPAY_VARIABLES

    email = f"stdin-{merchant.slug}@ops.test"
    args = ["users", "create", "--email", email, "--role", "viewer", "--merchant",
            merchant.slug, "--password-stdin"]
    result = await asyncio.to_thread(CliRunner().invoke, app, args,
                                input="a chosen long password\n",
                                env={**dict.fromkeys(OWNPAY_VARIABLES), **app_env(ctx)})
    assert result.exit_code == 0 and "password" not in result.stdout.replace(email, "")
    for args, message in (
        (["--email", email, "--role", "viewer", "--merchant", merchant.slug], "exists"),
        (["--email", "not-an-email", "--role", "owner"], "e-mail"),
        (["--email", "x@ops.test", "--role", "emperor"], "role must be one of"),
        (["--email", "y@ops.test", "--role", "viewer"], "belongs to one brand"),
        (["--email", "z@ops.test", "--role", "owner", "--merchant", merchant.slug], "every brand"),
    ):
        refused = await cli(ctx, "users", "create", *args)
        assert refused.exit_code == 1 and message in refused.stderr, (args, refused.stderr)


async def test_disable_reset_password_and_reset_2fa(ctx: Any, client: httpx.AsyncClient,
                                                    merchant: Any) -> None:
    email = f"life-{merchant.slug}@ops.test"
    first = json.loads((await cli(ctx, "users", "create", "--email", email, "--role",
                                  "operator", "--merchant", merchant.slug, "--json")).stdout)
    assert (await cli(ctx, "users", "disable", email)).exit_code == 0
    assert (await sign_in(client, email, first["password"])).status_code == 400
    assert (await cli(ctx, "users", "enable", email)).exit_code == 0
    new = json.loads((await cli(ctx, "users", "reset-password", email, "--json")).stdout)
    assert (await sign_in(client, email, first["password"])).status_code == 400
    assert (await sign_in(client, email, new["password"])).status_code == 303
    assert (await cli(ctx, "users", "reset-2fa", email)).exit_code == 0
    missing = await cli(ctx, "users", "disable", "nobody@ops.test")
    assert missing.exit_code == 1 and "no user" in missing.stderr


async def test_make_run_gives_the_demo_owner_a_fresh_working_password(
        ctx: Any, client: httpx.AsyncClient) -> None:
    email, first = await quickstart_owner(ctx)
    again_email, second = await quickstart_owner(ctx)
    assert email == again_email == DEMO_OWNER_EMAIL and first != second
    assert (await sign_in(client, email, first)).status_code == 400
    assert (await sign_in(client, email, second)).status_code == 303


async def test_an_operator_gets_a_refund_limit_and_nobody_else_does(ctx: Any,
                                                                   merchant: Any) -> None:
    email = f"limited-{merchant.slug}@ops.test"
    made = await cli(ctx, "users", "create", "--email", email, "--role", "operator",
                     "--merchant", merchant.slug, "--refund-limit", "100.00", "--json")
    assert made.exit_code == 0, made.stderr
    from ownpay.dashboard import users

    async with ctx.sessions() as s:
        user = await users.find(s, email)
    assert user is not None and user.refund_limit == "100.00"
    for role, limit, message in (("viewer", "10", "Only an operator"),
                                 ("operator", "-5", "positive amount"),
                                 ("operator", "ten", "as a number"),
                                 ("operator", "1.0001", "three decimals")):
        refused = await cli(ctx, "users", "create", "--email", f"x-{role}-{limit}@ops.test",
                            "--role", role, "--merchant", merchant.slug, "--refund-limit", limit)
        assert refused.exit_code == 1 and message in refused.stderr, (role, limit, refused.stderr)
