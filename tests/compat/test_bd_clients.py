"""Clients of UddoktaPay's and PipraPay's APIs written like their plugins (PHP, run with
php-cli) against a real ``ownpay serve``: each creates a payment, the customer chooses
sandbox on the checkout page and pays, comes back with ``invoice_id`` / ``pp_id`` (a posted
form for UddoktaPay's ``return_type`` POST, the query for PipraPay's GET), the client
verifies it, the server's worker delivers the IPN to the client (PHP's built-in server),
which accepts it only if the key header equals its key and a verify call agrees; the
UddoktaPay client then refunds part of it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ownpay.context import AppContext
from tests.compat.facades import switch
from tests.support.checkout import CSRF
from tests.support.factories import create_merchant
from tests.support.ports import free_port
from tests.support.processes import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENTS = Path(__file__).with_name("clients")
PHP = shutil.which("php")


def run_php(client: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert PHP is not None, "php-cli is installed by make install-system"
    return subprocess.run([PHP, str(CLIENTS / client), *args], capture_output=True,
                          text=True, timeout=60, check=False)


def php(client: str, *args: str) -> dict[str, Any]:
    done = run_php(client, *args)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def start_receiver(client: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    assert PHP is not None
    proc = subprocess.Popen([PHP, "-S", f"127.0.0.1:{port}", str(CLIENTS / client)],
                            env={"PATH": os.environ.get("PATH", ""), **env},
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


async def customer_pays(base: str, url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=20) as customer:
        path = urlsplit(url).path
        page = await customer.get(path)
        assert "Choose how to pay" in page.text  # their plugins send no gateway
        token = CSRF.search(page.text)
        assert token
        r = await customer.post(f"{path}/method", data={"csrf_token": token.group(1),
                                                         "gateway": "sandbox"})
        assert r.status_code == 303
        token = CSRF.search((await customer.get(path)).text)
        assert token
        r = await customer.post(f"{path}/pay", data={"csrf_token": token.group(1),
                                                      "outcome": "succeed"})
        assert r.status_code == 303
        if r.headers["location"].startswith("/checkout/"):  # return_type POST: our page
            return await customer.get(r.headers["location"])
        return r


def read_log(log: Path) -> list[dict[str, Any]]:
    text = log.read_text() if log.exists() else ""
    return [json.loads(x) for x in text.splitlines() if x.strip()]


async def logged(log: Path) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if found := read_log(log):
            return found
        await asyncio.sleep(0.2)
    raise AssertionError("no IPN reached the client")


async def test_an_uddoktapay_client_pays_verifies_accepts_the_ipn_and_refunds(
    ctx: AppContext, live_server: ServerProcess, tmp_path: Path
) -> None:
    shop = await create_merchant(ctx)
    await switch(ctx, shop, "uddoktapay")
    port, log = free_port(), tmp_path / "ipn.log"
    receiver = start_receiver("uddoktapay_client.php", port, {
        "UDDOKTAPAY_KEY": shop.test_key, "UDDOKTAPAY_BASE": live_server.url + "/api",
        "UDDOKTAPAY_LOG": str(log)})
    try:
        made = php("uddoktapay_client.php", "create", live_server.url + "/api/", shop.test_key,
                   f"http://127.0.0.1:{port}/uddoktapay/ipn",
                   "https://shop.example/checkout/order-received/77", "POST")
        page = await customer_pays(live_server.url, made["payment_url"])
        assert page.status_code == 200
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                 page.text))
        assert 'action="https://shop.example/checkout/order-received/77"' in page.text
        invoice_id = fields["invoice_id"]
        verified = php("uddoktapay_client.php", "verify", live_server.url, shop.test_key,
                       invoice_id)
        assert verified["status"] == "COMPLETED" and verified["amount"] == "100.00"
        [entry] = await logged(log)
        assert entry == {"ok": True, "invoice_id": invoice_id, "amount": "100.00",
                         "order": "WC-77", "told": "COMPLETED"}
        refund = php("uddoktapay_client.php", "refund", live_server.url, shop.test_key,
                     verified["transaction_id"], "40")
        assert refund["http"] == 200 and refund["status"] is True, refund
        # A wrong key: their envelope, and the library sees no payment_url.
        wrong = run_php("uddoktapay_client.php", "create", live_server.url,
                        "op_test_" + "x" * 39, "http://x.example/", "https://shop.example/",
                        "GET")
        assert wrong.returncode == 1 and "Invalid API Key" in wrong.stderr
    finally:
        receiver.kill()
        receiver.wait(timeout=10)


async def test_a_piprapay_client_pays_verifies_and_accepts_the_webhook(
    ctx: AppContext, live_server: ServerProcess, tmp_path: Path
) -> None:
    shop = await create_merchant(ctx)
    await switch(ctx, shop, "piprapay")
    port, log = free_port(), tmp_path / "webhook.log"
    receiver = start_receiver("piprapay_client.php", port, {
        "PIPRAPAY_KEY": shop.test_key, "PIPRAPAY_BASE": live_server.url,
        "PIPRAPAY_LOG": str(log)})
    try:
        made = php("piprapay_client.php", "create", live_server.url, shop.test_key,
                   f"http://127.0.0.1:{port}/modules/gateways/callback/piprapay.php",
                   "https://billing.example/viewinvoice.php?id=42", "GET")
        back = await customer_pays(live_server.url, made["pp_url"])
        query = parse_qs(urlsplit(back.headers["location"]).query)
        assert query == {"id": ["42"], "pp_id": [made["pp_id"]]}
        verified = php("piprapay_client.php", "verify", live_server.url, shop.test_key,
                       made["pp_id"])
        assert verified["http"] == 200 and verified["status"] == "completed"
        [entry] = await logged(log)
        assert entry == {"ok": True, "pp_id": made["pp_id"], "amount": "500.00", "invoice": 42}
        wrong = php("piprapay_client.php", "verify", live_server.url, "nope", made["pp_id"])
        assert wrong == {"http": 400, "status": False,
                         "message": "Unauthorized request. Invalid API key."}
    finally:
        receiver.kill()
        receiver.wait(timeout=10)
