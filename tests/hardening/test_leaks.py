"""The leak detector (tests/support/leaks.py) itself, and the surfaces most likely to leak,
driven with canary secrets.  The detector runs over the whole suite on its own (the root
conftest loads it as a plugin); these tests show that it sees what it must, that a run
whose log carries a secret fails, and that answers never echo a secret either."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import httpx
import pytest

from ownpay.context import AppContext
from tests.support import leaks
from tests.support.artifacts import ROOT
from tests.support.bkash import CREDENTIALS, bkash_intent, enable_bkash
from tests.support.checkout import checkout
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.ports import free_port
from tests.support.stripe import SECRET_KEY as STRIPE_KEY

API_KEY = "op_live_" + "a2" * 19 + "q"  # the shape of a real key (39 base32 characters)
WEBHOOK_SECRET = "whsec_" + "QUJD" * 11


@pytest.mark.parametrize("secret", [
    API_KEY, WEBHOOK_SECRET, STRIPE_KEY, CREDENTIALS["app_secret"], CREDENTIALS["password"],
    "4242424242424242",
])
def test_the_detector_sees_each_kind_of_secret_in_every_kind_of_record(secret: str) -> None:
    console = f"2026-12-02T10:33:54.485494Z [error    ] provider_call_failed detail={secret}"
    as_json = json.dumps({"event": "provider_call_failed", "detail": secret})
    traceback = ("2026-12-02T10:33:54.4Z [error    ] unhandled_error\nTraceback (most recent "
                 f"call last):\n  File \"x.py\", line 1\nValueError: bad {secret}")
    for text in (console, as_json, traceback):
        assert leaks.find(text, "here"), text
    # Deliberate output is no log record: the quickstart banner prints the key it minted.
    assert leaks.find(f"API key (test mode): {secret}", "banner") == []
    assert leaks.find("2026-12-02T10:33:54Z [info     ] ready key_prefix=op_live_a2", "x") == []


def _run_pytest(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.support.leak_plugin", "-p",
         "no:cacheprovider", "-c", "/dev/null", "--rootdir", str(tmp_path),
         str(tmp_path / "test_sample.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


LOGGING_TEST = """
    import structlog
    from ownpay.config import Settings
    from ownpay.logs import configure_logging

    def test_logs_something():
        configure_logging(Settings())
        structlog.get_logger("x").warning("gateway_failed", detail={detail!r})
"""


@pytest.mark.e2e
def test_a_run_whose_log_carries_a_secret_fails(tmp_path: Path) -> None:
    leaked = _run_pytest(tmp_path, LOGGING_TEST.format(detail=CREDENTIALS["app_secret"]))
    assert leaked.returncode == 1, leaked.stdout + leaked.stderr
    assert "LEAK DETECTOR: 1 secret(s)" in leaked.stdout and "bKash app secret" in leaked.stdout
    clean = _run_pytest(tmp_path, LOGGING_TEST.format(detail="timeout after 10 s"))
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_a_server_log_file_that_carries_a_secret_is_found() -> None:
    # Outside the run's temporary directory: the session's own scan must not find it.
    with tempfile.TemporaryDirectory() as where:
        log = Path(where) / "server-data" / "server.log"
        log.parent.mkdir()
        log.write_text("starting\n2026-12-02T10:00:00Z [info     ] call "
                       f"authorization='Bearer {API_KEY}'\n")
        assert [leak.what for leak in leaks.scan_log_files(Path(where))] == ["API key"]


async def test_an_unknown_key_is_never_echoed(client: httpx.AsyncClient,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for path in ("/api/v1/payment-intents", "/api/v1/transactions", "/api/v1/refunds"):
        r = await client.get(path, headers={"Authorization": f"Bearer {API_KEY}"})
        assert r.status_code in (401, 405) and API_KEY not in r.text
    captured = capsys.readouterr()
    assert API_KEY not in captured.out + captured.err


async def test_a_failing_provider_leaks_no_credential(
    client: httpx.AsyncClient, ctx: AppContext, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """bKash unreachable: the grant-token call fails with the canary credentials in hand;
    the customer's page, the intent, the transaction and every log line stay clean."""
    shop: MerchantKeys = await create_merchant(ctx)
    await enable_bkash(ctx, shop, **CREDENTIALS, base_url=f"http://127.0.0.1:{free_port()}")
    created = await client.post("/api/v1/payment-intents", json=bkash_intent(),
                                headers=shop.auth())
    assert created.status_code == 201, created.text
    txn = created.json()["transaction_id"]
    page = await checkout(client, txn)
    answers = [page.text,
               (await client.get(f"/api/v1/payment-intents/{txn}", headers=shop.auth())).text,
               (await client.get(f"/api/v1/transactions/{txn}", headers=shop.auth())).text]
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    for secret in (CREDENTIALS["app_secret"], CREDENTIALS["password"], CREDENTIALS["app_key"]):
        assert all(secret not in text for text in answers)
        assert secret not in logged
