"""A client of OwnPay's merchant API written like its WHMCS module (PHP, run with php-cli)
against a real ``ownpay serve``: it creates a payment (expecting 201 and a checkout URL),
the customer chooses sandbox on the checkout page and pays, the client verifies the payment
by its ``payment_id``, and the server's worker delivers ``payment.completed`` to the client's
callback (PHP's built-in server), which accepts it only if the signature it computes the
way the module does matches; then the module refunds part of it (``POST /api/v1/refunds``
with ``trx_id``) and accepts the signed ``refund.completed`` the same way."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.tenancy import TenantScope
from ownpay.webhooks import callbacks
from tests.support.checkout import CSRF
from tests.support.factories import create_merchant
from tests.support.ports import free_port
from tests.support.processes import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENT = Path(__file__).with_name("clients") / "ownpay_merchant.php"
PHP = shutil.which("php")


def php(*args: str) -> dict[str, str]:
    assert PHP is not None, "php-cli is installed by make install-system"
    done = subprocess.run([PHP, str(CLIENT), *args], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    answer: dict[str, str] = json.loads(done.stdout)
    return answer


def start_receiver(port: int, secret: str, log: Path) -> subprocess.Popen[bytes]:
    assert PHP is not None
    proc = subprocess.Popen(
        [PHP, "-S", f"127.0.0.1:{port}", str(CLIENT)],
        env={"PATH": os.environ.get("PATH", ""), "OWNPAY_SECRET": secret,
             "OWNPAY_CLIENT_LOG": str(log)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("php -S did not start")


def read_log(log: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


async def received(log: Path, count: int) -> list[dict[str, object]]:
    """The client's log once it holds ``count`` webhooks (bounded wait for the worker)."""
    deadline = time.monotonic() + 30
    lines: list[dict[str, object]] = []
    while time.monotonic() < deadline and len(lines) < count:
        lines = await asyncio.to_thread(read_log, log)
        await asyncio.sleep(0.2)
    assert len(lines) >= count, f"the client received {len(lines)} webhooks, not {count}"
    return lines


async def test_a_whmcs_style_client_pays_verifies_and_accepts_the_webhook(
    ctx: AppContext, live_server: ServerProcess, tmp_path: Path
) -> None:
    shop = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        secret = await callbacks.secret(s, ctx.keyring, TenantScope(shop.id, "test"))
        made_key = await merchants.create_api_key(
            s, merchant=await merchants.get_merchant(s, shop.slug), mode="test",
            dialect="ownpay")
    key = made_key.api_key  # the key a merchant types into the module
    port = free_port()
    log = tmp_path / "client.log"
    receiver = start_receiver(port, secret, log)
    try:
        callback = f"http://127.0.0.1:{port}/modules/gateways/callback/ownpay.php"
        redirect = callback + "?action=return&invoice_id=42"
        made = php("create", live_server.url, key, callback, redirect, "42")
        async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as customer:
            path = urlsplit(made["checkout_url"]).path
            page = await customer.get(path)
            assert "Choose how to pay" in page.text  # the module sends no gateway
            token = CSRF.search(page.text)
            assert token
            r = await customer.post(f"{path}/method", data={"csrf_token": token.group(1),
                                                             "gateway": "sandbox"})
            assert r.status_code == 303
            page = await customer.get(path)
            token = CSRF.search(page.text)
            assert token
            r = await customer.post(f"{path}/pay", data={"csrf_token": token.group(1),
                                                          "outcome": "succeed"})
            assert r.status_code == 303
            back = urlsplit(r.headers["location"])
            query = parse_qs(back.query)
        # What the module's return handler reads, then verifies through the API.
        assert query["invoice_id"] == ["42"] and query["payment_id"] == [made["payment_id"]]
        assert query["status"] == ["completed"]
        verified = php("verify", live_server.url, key, made["payment_id"])
        assert verified["status"] == "completed" and verified["amount"] == "150.00"
        # The worker delivers the webhook; the client accepts it (bounded wait).
        lines = await received(log, 1)
        assert lines[0] == {"ok": True, "event": "payment.completed", "status": "completed",
                            "amount": "150.00", "currency": "BDT", "invoice": "42",
                            "trx_id": verified["trx_id"]}
        refunded = php("refund", live_server.url, key, verified["trx_id"], "40.00")
        assert refunded["status"] == "completed" and refunded["amount"] == "40.00"
        assert refunded["trx_id"] == verified["trx_id"]
        lines = await received(log, 2)
        assert lines[1]["ok"] is True and lines[1]["event"] == "refund.completed"
        assert lines[1]["invoice"] == "42" and lines[1]["trx_id"] == verified["trx_id"]
    finally:
        receiver.kill()
        receiver.wait(timeout=10)
