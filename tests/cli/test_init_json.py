"""``ownpay init --json`` on a database that has never been set up, on each engine.

The output shape is part of the installation's interface (scripts read it):
``{"merchant": "demo", "api_keys": {"test": "op_test_…", "live": "op_live_…"},
"base_url": "http://…"}`` on the first run, ``null`` for keys that already exist afterwards.
A fresh database per test keeps this independent of whatever else shares the session
database (where a demo merchant may already exist).
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import ownpay_here
from tests.support.databases import PG_URL, create_pg_database, drop_pg_database
from tests.support.processes import server_env

pytestmark = pytest.mark.e2e

KEY = {"test": re.compile(r"^op_test_[a-z2-7]{39}$"), "live": re.compile(r"^op_live_[a-z2-7]{39}$")}


@pytest.fixture
async def fresh_env(backend: str, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The environment of a machine that has never run OwnPay (no data dir, no key)."""
    data_dir = tmp_path / "data"
    env = server_env("unused", data_dir, OWNPAY_BASE_URL="https://pay.example.test")
    del env["OWNPAY_SECRET_KEY"]  # init generates it
    if backend == "sqlite":
        del env["OWNPAY_DATABASE_URL"]  # the default: SQLite under the data dir
        yield env
        return
    url = await create_pg_database(PG_URL)
    env["OWNPAY_DATABASE_URL"] = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        yield env
    finally:
        await drop_pg_database(url)


def run_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(ownpay_here(env, *args, "--json").stdout)


def test_init_json_shape_and_idempotence(fresh_env: dict[str, str], backend: str) -> None:
    data_dir = Path(fresh_env["OWNPAY_DATA_DIR"])
    assert not data_dir.exists()

    first = run_json(fresh_env, "init")
    assert list(first) == ["merchant", "api_keys", "base_url"]
    assert first["merchant"] == "demo" and first["base_url"] == "https://pay.example.test"
    assert list(first["api_keys"]) == ["test", "live"]
    for mode, key in first["api_keys"].items():
        assert KEY[mode].match(key), key

    secret = data_dir / "secret.key"
    assert secret.is_file() and stat.S_IMODE(secret.stat().st_mode) == 0o600
    if backend == "sqlite":
        assert (data_dir / "ownpay.db").is_file()

    again = run_json(fresh_env, "init")
    assert again == {"merchant": "demo", "api_keys": {"test": None, "live": None},
                     "base_url": "https://pay.example.test"}

    # What the first run made: one key per mode with every scope, shown only that once.
    keys = run_json(fresh_env, "api-keys", "list", "--merchant", "demo")
    assert sorted((k["mode"], tuple(k["scopes"])) for k in keys) == [
        ("live", ("read", "write", "admin")), ("test", ("read", "write", "admin"))]
    listing = json.dumps(keys)
    assert all(key not in listing for key in first["api_keys"].values())
    gateways = run_json(fresh_env, "gateways", "list", "--merchant", "demo")
    assert sorted((g["gateway"], g["mode"], g["active"]) for g in gateways) == [
        ("manual", "live", True), ("manual", "test", True), ("sandbox", "test", True)]
