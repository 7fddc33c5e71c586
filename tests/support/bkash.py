"""The bKash Tokenized Checkout simulator on loopback, and the steps of a bKash payment.

* :class:`running_simulator` -- the simulator served by uvicorn on a free loopback port
  *inside the test's event loop* (:class:`serving`), so a test can read and poke its state
  (``SimServer.sim``) while our server talks to it over real HTTP.
* the customer's steps: open our checkout, press "Pay with bKash", act on bKash's page
  (``at_bkash``), follow the callback -- and what the API and the database say afterwards.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.payments.models import PaymentIntent, PaymentStatusHistory
from tests.simulators.bkash import PREFIX, BkashSimulator
from tests.simulators.bkash import create_app as create_simulator
from tests.support.factories import MerchantKeys
from tests.support.ports import free_port
from tests.support.records import outbox_types, status_history
from tests.support.standins import bdt_intent

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
WALLET = "01770618575"
OTP = "123456"
PIN = "12121"
CREDENTIALS = {
    "app_key": "sandbox-app-key",
    "app_secret": "sandbox-app-secret",
    "username": "sandbox-user",
    "password": "sandbox-pass",
}


@dataclass
class SimServer:
    app: FastAPI
    url: str  # http://127.0.0.1:PORT

    @property
    def sim(self) -> BkashSimulator:
        sim: BkashSimulator = self.app.state.sim
        return sim

    @property
    def base_url(self) -> str:
        return self.url + PREFIX


class serving:  # noqa: N801 - used like a function: ``async with serving(app) as url``
    """An ASGI app on a free loopback port, served by uvicorn as a task of the running
    event loop (so the test can inspect the app's state while others call it)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
            ws="none", timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(1000):  # at most ~10 s
            if self.server.started:
                return f"http://127.0.0.1:{self.port}"
            if self.task.done():
                break
            await asyncio.sleep(0.01)
        await self.__aexit__()
        raise RuntimeError("the loopback server did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=15)


class running_simulator:  # noqa: N801 - used like a function: ``async with running_simulator()``
    """The bKash simulator on a loopback port (see :class:`serving`)."""

    def __init__(self, **options: Any) -> None:
        self.app = create_simulator(**options)
        self.serving = serving(self.app)

    async def __aenter__(self) -> SimServer:
        return SimServer(self.app, await self.serving.__aenter__())

    async def __aexit__(self, *exc: object) -> None:
        await self.serving.__aexit__()


async def enable_bkash(ctx: AppContext, merchant: MerchantKeys, **values: str) -> None:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, merchant.slug)
        await merchants.enable_gateway(
            s, ctx.keyring, merchant=m, mode="test", gateway="bkash", values=values
        )


# ---- steps of a payment ------------------------------------------------------------------


def bkash_intent(**overrides: Any) -> dict[str, Any]:
    return bdt_intent("bkash", overrides)


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys, **overrides: Any) -> str:
    r = await customer.post(
        "/api/v1/payment-intents", json=bkash_intent(**overrides), headers=merchant.auth()
    )
    assert r.status_code == 201, r.text
    return str(r.json()["transaction_id"])


async def open_checkout(customer: httpx.AsyncClient, txn: str) -> tuple[httpx.Response, str]:
    page = await customer.get(f"/checkout/{txn}")
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text)
    assert token, page.text
    return page, token.group(1)


async def pay_with_bkash(customer: httpx.AsyncClient, txn: str) -> str:
    """Press "Pay with bKash": returns the bkashURL we were redirected to."""
    _, token = await open_checkout(customer, txn)
    r = await customer.post(f"/checkout/{txn}/pay", data={"csrf_token": token})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def payment_id_of(bkash_url: str) -> str:
    return urlsplit(bkash_url).path.rsplit("/", 1)[-1]


async def at_bkash(
    wallet: httpx.AsyncClient,
    bkash_url: str,
    *,
    msisdn: str = WALLET,
    otp: str = OTP,
    pin: str = PIN,
    action: str = "confirm",
) -> httpx.Response:
    """The customer on the simulator's hosted page (GET it, then submit it)."""
    page = await wallet.get(bkash_url)
    assert page.status_code == 200, page.text
    return await wallet.post(
        bkash_url, data={"wallet": msisdn, "otp": otp, "pin": pin, "action": action}
    )


def callback_location(response: httpx.Response) -> str:
    """Where bKash sends the browser back to (our callback route), checked."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("http", "pay.test")
    assert parts.path.startswith("/gateways/bkash/callback/txn_")
    assert parse_qs(parts.query)["paymentID"]
    return location


async def pay_through(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, txn: str, **at: str
) -> tuple[str, httpx.Response]:
    """Pay with bKash, act on bKash's page, follow the callback: (paymentID, our answer)."""
    bkash_url = await pay_with_bkash(customer, txn)
    back = await at_bkash(wallet, bkash_url, **at)
    return payment_id_of(bkash_url), await customer.get(callback_location(back))


async def api_payment(
    customer: httpx.AsyncClient, merchant: MerchantKeys, txn: str
) -> dict[str, Any]:
    r = await customer.get(f"/api/v1/payment-intents/{txn}", headers=merchant.auth())
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def history(ctx: AppContext, txn: str) -> list[tuple[str, str, str]]:
    return [(r.from_status, r.to_status, r.reason or "") for r in await status_history(ctx, txn)]


events = outbox_types


async def history_count(ctx: AppContext, txn: str) -> int:
    async with ctx.sessions() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(PaymentStatusHistory)
            .where(PaymentStatusHistory.payment_id == txn)
        )
    return int(n or 0)


async def stored(ctx: AppContext, txn: str) -> PaymentIntent:
    async with ctx.sessions() as s:
        intent = await s.get(PaymentIntent, txn)
    assert intent is not None
    return intent
