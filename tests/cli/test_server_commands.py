"""``ownpay quickstart`` (``make run``) and ``ownpay serve`` before they serve: the links they
print follow the port, a busy port is refused before anything is minted or printed, and a
later ``make run`` revokes the demo keys the earlier runs printed.

In-process through Typer's runner on a fresh SQLite data directory, with ``uvicorn.run``
replaced by a recorder: what is checked is everything up to the moment the server would
start listening.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import fresh_env, in_process
from tests.support.ports import free_port


@dataclass
class Served:
    calls: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    record = Served()

    def fake_run(target: str, **options: Any) -> None:
        # What a server process would read: the options and the environment it inherits.
        record.calls.append({**options, "env_base_url": os.environ.get("OWNPAY_BASE_URL")})

    monkeypatch.setattr("uvicorn.run", fake_run)
    return record


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str | None]:
    return fresh_env(tmp_path / "data")


ownpay = in_process


@pytest.fixture
def busy_port() -> Iterator[int]:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        yield port


def test_the_printed_links_follow_the_port(fresh, served: Served) -> None:
    port = free_port()
    result = ownpay(fresh, "quickstart", "--port", str(port))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    base = f"http://127.0.0.1:{port}"
    assert f"starting on {base} " in result.stdout
    assert f"curl -s -X POST {base}/api/v1/payment-intents" in result.stdout
    assert f"Dashboard: {base}/admin/\n  sign in as owner@demo.local\n" in result.stdout
    assert re.search(r"password \(shown once, keep it\): [A-Za-z0-9]{20}\n", result.stdout)
    assert ":8000" not in result.stdout
    # The server is started on that port and builds every payment_url from that base.
    assert [(c["port"], c["env_base_url"]) for c in served.calls] == [(port, base)]

    by_env = ownpay({**fresh, "OWNPAY_PORT": str(port)}, "init", "--json")
    assert json.loads(by_env.stdout)["base_url"] == base
    public = ownpay({**fresh, "OWNPAY_BASE_URL": "https://pay.example.com"}, "init", "--json")
    assert json.loads(public.stdout)["base_url"] == "https://pay.example.com"


@pytest.mark.parametrize("command", ["quickstart", "serve"])
def test_a_busy_port_is_refused_before_anything_is_minted(
    fresh, served: Served, busy_port: int, command: str
) -> None:
    result = ownpay(fresh, command, "--port", str(busy_port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{busy_port}: the port is already in use" in result.stderr
    suggested = re.search(r"OWNPAY_PORT=(\d+) make run, or ownpay quickstart\|serve --port (\d+)",
                          result.stderr)
    assert suggested and suggested[1] == suggested[2] and int(suggested[1]) != busy_port
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # no banner, no key, no curl
    assert served.calls == []
    assert not Path(str(fresh["OWNPAY_DATA_DIR"])).exists()  # nothing was set up either


def test_a_later_make_run_revokes_the_demo_keys_set_up_printed(fresh, served: Served) -> None:
    """The README's promise: one demo test key printed by set-up works at a time -- the one
    `init` minted (which the first `make run` prints) included -- while keys an operator
    created and the live key stay active."""
    first = json.loads(ownpay(fresh, "init", "--json").stdout)["api_keys"]
    mine = json.loads(ownpay(fresh, "api-keys", "create", "--merchant", "demo", "--mode", "test",
                             "--name", "ci", "--json").stdout)["api_key"]
    port = str(free_port())

    def make_run() -> str:
        result = ownpay(fresh, "quickstart", "--port", port)
        assert result.exit_code == 0, result.stderr
        return re.findall(r"op_test_[a-z2-7]+", result.stdout)[0]

    def active() -> set[str]:
        keys = json.loads(ownpay(fresh, "api-keys", "list", "--merchant", "demo", "--json").stdout)
        return {k["prefix"].rstrip("…") for k in keys if k["revoked_at"] is None}

    def shown(*keys: str) -> set[str]:
        return {p for p in active() for k in keys if k.startswith(p)}

    second = make_run()
    assert second != first["test"]
    assert shown(first["test"]) == set()  # the key init minted (and printed) is revoked
    assert len(shown(first["live"], mine, second)) == 3
    third = make_run()
    assert shown(second) == set() and len(shown(first["live"], mine, third)) == 3
    assert len(active()) == 3
