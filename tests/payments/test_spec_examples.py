"""The spec's PHP and Node.js integration examples, unchanged, against a real server."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.artifacts import ROOT
from tests.support.commands import ownpay_cli
from tests.support.processes import ServerProcess

EXAMPLES = Path(__file__).parent / "spec_examples"
SPEC = ROOT.parent / "shared" / "spec" / "initiate-payment.md"


@pytest.fixture
def stripe_merchant(live_server: ServerProcess) -> dict[str, str]:
    """A merchant with an active (test) Stripe account, as the examples use gateway 'stripe'."""
    env = live_server.env
    slug = "spec-" + secrets.token_hex(4)
    ownpay_cli(env, "merchants", "create", "--slug", slug, "--name", "Spec Shop")
    ownpay_cli(env, "gateways", "enable", "stripe", "--merchant", slug, "--mode", "test",
               "--set", "secret_key=sk_test_" + "x" * 24,
               "--set", "publishable_key=pk_test_" + "x" * 24,
               "--set", "webhook_secret=whsec_" + "x" * 24)
    key = json.loads(ownpay_cli(env, "api-keys", "create", "--merchant", slug, "--mode", "test",
                                "--json").stdout)
    return {"OWNPAY_API_KEY": key["api_key"], "OWNPAY_BASE_URL": live_server.url}


def test_vendored_examples_match_the_spec() -> None:
    if not SPEC.exists():
        pytest.skip("shared/spec is not beside this checkout")
    spec = SPEC.read_text()
    assert (EXAMPLES / "initiate.php").read_text() in spec
    assert (EXAMPLES / "initiate.js").read_text() in spec


def _check_payment_url(url: str, server: ServerProcess, api_key: str) -> None:
    match = re.fullmatch(re.escape(server.url) + r"/checkout/(txn_[0-9a-f]{16})", url)
    assert match, url
    got = httpx.get(f"{server.url}/api/v1/payment-intents/{match.group(1)}",
                    headers={"Authorization": f"Bearer {api_key}"})
    assert got.status_code == 200
    assert got.json()["amount"] == 99.99 and got.json()["gateway"] == "stripe"


@pytest.mark.skipif(shutil.which("php") is None,
                    reason="php-cli is installed by `make test` (install-system)")
def test_php_example_unchanged(live_server: ServerProcess,
                               stripe_merchant: dict[str, str]) -> None:
    env = {"PATH": os.environ["PATH"], **stripe_merchant}
    result = subprocess.run(
        ["php", "-d", f"auto_prepend_file={EXAMPLES / 'prepend.php'}",
         str(EXAMPLES / "initiate.php")],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    out = json.loads(result.stdout)
    _check_payment_url(out["payment_url"], live_server, stripe_merchant["OWNPAY_API_KEY"])


def test_node_example_unchanged(live_server: ServerProcess, stripe_merchant: dict[str, str],
                                tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is part of this machine's toolchain"
    harness = tmp_path / "example.mjs"
    harness.write_text(
        "// Test harness: an Express-like `res` whose redirect() reports the URL.\n"
        "const res = { redirect: (url) => console.log(JSON.stringify({ redirect: url })) };\n"
        + (EXAMPLES / "initiate.js").read_text()
    )
    result = subprocess.run([node, str(harness)],
                            env={"PATH": os.environ["PATH"], **stripe_merchant},
                            capture_output=True, text=True, timeout=60, check=True)
    _check_payment_url(json.loads(result.stdout)["redirect"], live_server,
                       stripe_merchant["OWNPAY_API_KEY"])
