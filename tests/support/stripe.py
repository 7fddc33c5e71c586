"""The Stripe stand-in (localstripe, ``simulators/stripe.py``) as a fixture, and what the tests do
with it: merchants with a Stripe account pointing at it, the browser's card confirmation,
signed provider webhooks, and database look-ups for the assertions."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.provider_events.models import ProviderEventRecord
from tests.support.factories import MerchantKeys, create_merchant, intent_body
from tests.support.markers import require_e2e
from tests.support.ports import free_port
from tests.support.records import outbox_types, status_history

STANDIN = Path(__file__).resolve().parents[1] / "simulators" / "stripe.py"
SECRET_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
PUBLISHABLE_KEY = "pk_test_" + "TYooMQauvdEDq54NiTphI7jx"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"
CARD_3DS = "4000002500003155"
SEPA_IBAN = "DE89370400440532013000"
CLIENT_SECRET = re.compile(r'data-client-secret="([^"]+)"')


class StandIn:
    """One localstripe process on a free loopback port; stop/start keep its state file."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.js_url = f"{self.url}/js.stripe.com/v3/ownpay/"
        self.state = workdir / "localstripe.pickle"
        self.log_path = workdir / "localstripe.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        require_e2e("localstripe")
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.proc = subprocess.Popen(
            [sys.executable, str(STANDIN), "--port", str(self.port), "--state", str(self.state)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localstripe exited early:\n{self.log()}")
            try:
                if httpx.get(self.js_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"localstripe did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ---- the stand-in's API, as Stripe (secret key) and as Stripe.js (publishable key) ----

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            return await c.request(method, path, auth=(SECRET_KEY, ""), **kwargs)

    async def payment_intent(self, pi: str) -> dict[str, Any]:
        r = await self.api("GET", f"/v1/payment_intents/{pi}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def confirm_card(self, client_secret: str, number: str) -> httpx.Response:
        """What our page's Stripe.js call sends when the customer pays with ``number``."""
        pi = client_secret.split("_secret_")[0]
        form = {
            "key": PUBLISHABLE_KEY,
            "client_secret": client_secret,
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "34",
            "card[cvc]": "123",
            "billing_details[name]": "Jane Smith",
        }
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            return await c.post(f"/js.stripe.com/v3/_confirm/{pi}", data=form)

    async def authenticate(self, client_secret: str, *, success: bool) -> httpx.Response:
        """The customer completes (or fails) the 3-D Secure challenge."""
        pi = client_secret.split("_secret_")[0]
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            return await c.post(
                f"/v1/payment_intents/{pi}/_authenticate?success={'true' if success else 'false'}",
                content=json.dumps({"key": PUBLISHABLE_KEY, "client_secret": client_secret}),
            )

    async def pay_by_sepa_debit(self, pi: str) -> dict[str, Any]:
        """Confirm with a SEPA debit: the PaymentIntent is ``processing`` until it settles."""
        method = await self.api(
            "POST",
            "/v1/payment_methods",
            data={"type": "sepa_debit", "sepa_debit[iban]": SEPA_IBAN},
        )
        assert method.status_code == 200, method.text
        updated = await self.api(
            "POST", f"/v1/payment_intents/{pi}", json={"payment_method": method.json()["id"]}
        )
        assert updated.status_code == 200, updated.text
        confirmed = await self.api("POST", f"/v1/payment_intents/{pi}/confirm")
        assert confirmed.status_code == 200, confirmed.text
        return dict(confirmed.json())

    async def hold_settlements(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            assert (await c.post("/_config/ownpay/hold")).status_code == 200

    async def release_settlements(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            assert (await c.post("/_config/ownpay/release")).status_code == 200

    async def send_webhooks_to(self, *targets: tuple[str, str]) -> None:
        """Send every event to these (url, signing secret) pairs only."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as c:
            for slot in range(4):
                if slot < len(targets):
                    url, secret = targets[slot]
                    body: dict[str, Any] = {"url": url, "secret": secret}
                else:  # localstripe cannot forget a webhook: point the slot at nothing
                    body = {
                        "url": "http://127.0.0.1:9/",
                        "secret": "whsec_x",
                        "events": ["ownpay.none"],
                    }
                r = await c.post(f"/_config/webhooks/ownpay-{slot}", json=body)
                assert r.status_code == 200, r.text


# ---- merchants and payments ----------------------------------------------------------------


@dataclass
class StripeMerchant:
    keys: MerchantKeys
    webhook_secret: str

    @property
    def slug(self) -> str:
        return self.keys.slug

    def auth(self) -> dict[str, str]:
        return self.keys.auth()

    def webhook_path(self, mode: str = "test") -> str:
        return f"/gateways/stripe/webhooks/{self.slug}/{mode}"


def stripe_values(standin: StandIn, webhook_secret: str) -> dict[str, str]:
    return {
        "secret_key": SECRET_KEY,
        "publishable_key": PUBLISHABLE_KEY,
        "webhook_secret": webhook_secret,
        "api_base": standin.url,
        "js_url": standin.js_url,
    }


async def stripe_merchant(ctx: AppContext, standin: StandIn, **fields: Any) -> StripeMerchant:
    keys = await create_merchant(ctx, gateways=(), **fields)
    secret = "whsec_" + secrets.token_hex(16)
    async with ctx.sessions() as s, s.begin():
        merchant = await merchants.get_merchant(s, keys.slug)
        await merchants.enable_gateway(
            s,
            ctx.keyring,
            merchant=merchant,
            mode="test",
            gateway="stripe",
            values=stripe_values(standin, secret),
        )
    return StripeMerchant(keys=keys, webhook_secret=secret)


async def create_intent(
    client: httpx.AsyncClient, merchant: StripeMerchant, **overrides: Any
) -> str:
    body = intent_body(gateway="stripe", **overrides)
    r = await client.post("/api/v1/payment-intents", json=body, headers=merchant.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def open_checkout(client: httpx.AsyncClient, txn: str) -> tuple[str, str, str]:
    """The page, its PaymentIntent id and client secret."""
    r = await client.get(f"/checkout/{txn}")
    assert r.status_code == 200, r.text
    found = CLIENT_SECRET.search(r.text)
    assert found, r.text
    secret = html.unescape(found.group(1))
    return r.text, secret.split("_secret_")[0], secret


async def api_intent(
    client: httpx.AsyncClient, merchant: StripeMerchant, txn: str
) -> dict[str, Any]:
    r = await client.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def history(ctx: AppContext, txn: str) -> list[tuple[str, str, str]]:
    return [(r.from_status, r.to_status, r.actor) for r in await status_history(ctx, txn)]


outbox_events = outbox_types


async def provider_events(ctx: AppContext, merchant_id: int) -> list[ProviderEventRecord]:
    async with ctx.sessions() as s:
        rows = await s.scalars(
            select(ProviderEventRecord)
            .where(ProviderEventRecord.merchant_id == merchant_id)
            .order_by(ProviderEventRecord.id)
        )
        return list(rows)


async def provider_event_count(ctx: AppContext) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(ProviderEventRecord)) or 0)


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header, computed the way Stripe documents it."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_body(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, livemode: bool = False
) -> bytes:
    return json.dumps(
        {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": livemode,
            "api_version": "2026-10-28.endive",
            "data": {"object": obj},
        }
    ).encode()
