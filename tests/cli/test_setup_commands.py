"""The `ownpay` command line against a real database (run in the test process; --json outputs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.commands import ownpay_here
from tests.support.processes import server_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return server_env(database_url, tmp_path / "data")


def run_json(env: dict[str, str], *args: str) -> object:
    result = ownpay_here(env, *args, "--json")
    return json.loads(result.stdout)


def test_init_is_idempotent_and_prints_keys_once(cli_env, backend) -> None:
    first = ownpay_here(cli_env, "init", "--json")
    data = json.loads(first.stdout)
    if data["api_keys"]["test"] is None:
        pytest.skip("the shared test database already has a demo merchant from another test")
    assert data["merchant"] == "demo" and data["base_url"] == cli_env["OWNPAY_BASE_URL"]
    assert data["api_keys"]["test"].startswith("op_test_")
    assert data["api_keys"]["live"].startswith("op_live_")
    again = json.loads(ownpay_here(cli_env, "init", "--json").stdout)
    assert again["api_keys"] == {"test": None, "live": None}
    gateways = run_json(cli_env, "gateways", "list", "--merchant", "demo")
    assert {(g["gateway"], g["mode"], g["active"]) for g in gateways} == {
        ("sandbox", "test", True), ("manual", "test", True), ("manual", "live", True)}
    keys = run_json(cli_env, "api-keys", "list", "--merchant", "demo")
    assert all(k["scopes"] == ["read", "write", "admin"] for k in keys)
    assert not any(data["api_keys"]["test"] in json.dumps(k) for k in keys)  # never shown again


def test_merchant_keys_and_gateways(cli_env) -> None:
    import secrets

    slug = "cli-" + secrets.token_hex(4)
    created = run_json(cli_env, "merchants", "create", "--slug", slug, "--name", "CLI Shop",
                       "--base-url", "https://pay.cli.example")
    assert created["slug"] == slug and created["base_url"] == "https://pay.cli.example"
    assert slug in [m["slug"] for m in run_json(cli_env, "merchants", "list")]
    dup = ownpay_here(cli_env, "merchants", "create", "--slug", slug, "--name", "Again",
                      check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr and "Traceback" not in dup.stderr

    key = run_json(cli_env, "api-keys", "create", "--merchant", slug, "--mode", "live",
                   "--scopes", "read,write")
    assert key["api_key"].startswith("op_live_") and key["scopes"] == ["read", "write"]
    assert isinstance(key["id"], int)
    bad = ownpay_here(cli_env, "api-keys", "create", "--merchant", slug, "--mode", "live",
                     "--scopes", "root", check=False)
    assert bad.returncode == 1 and "Unknown scope" in bad.stderr

    enabled = run_json(cli_env, "gateways", "enable", "manual", "--merchant", slug,
                       "--mode", "live", "--set", "instructions=Send to bank account 123",
                       "--set", "fields=sender:Sender,ref:Reference")
    assert enabled["active"] is True
    disabled = run_json(cli_env, "gateways", "disable", "manual", "--merchant", slug,
                        "--mode", "live")
    assert disabled["active"] is False
    nope = ownpay_here(cli_env, "gateways", "enable", "sandbox", "--merchant", slug,
                      "--mode", "live", check=False)
    assert nope.returncode == 1 and "test mode only" in nope.stderr
    unknown = ownpay_here(cli_env, "gateways", "enable", "nosuchgateway", "--merchant", slug,
                         "--mode", "test", check=False)
    assert unknown.returncode == 1 and "Unknown gateway" in unknown.stderr

    revoked = run_json(cli_env, "api-keys", "revoke", str(key["id"]))
    assert revoked == {"id": key["id"], "revoked": True}
    listed = run_json(cli_env, "api-keys", "list", "--merchant", slug)
    assert listed[0]["revoked_at"] is not None


def test_bad_configuration_is_one_line(cli_env) -> None:
    env = dict(cli_env, OWNPAY_PORT="not-a-port")
    result = ownpay_here(env, "merchants", "list", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: OWNPAY_PORT must be an integer, got 'not-a-port'"
