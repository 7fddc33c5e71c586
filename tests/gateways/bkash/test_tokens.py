"""bKash access tokens: granted once, shared by every process through the encrypted
``gateway_state`` table, refreshed near expiry or when bKash says they expired, granted
again when the refresh token is refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from ownpay.app import create_app
from ownpay.context import AppContext
from ownpay.gateways.bkash.adapter import TOKEN_STATE_KEY, BkashGateway
from ownpay.gateways.state import DbStateStore, GatewayState
from ownpay.merchants.models import GatewayAccount
from ownpay.payments.models import PaymentIntent
from tests.simulators.bkash import CREATE, EXECUTE, GRANT, REFRESH
from tests.support.bkash import (
    CREDENTIALS,
    SimServer,
    api_payment,
    at_bkash,
    callback_location,
    enable_bkash,
    new_payment,
    pay_through,
    pay_with_bkash,
    running_simulator,
)
from tests.support.checkout import refused
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.records import gateway_call
from tests.support.settings import PROVIDER_TIMEOUT, make_settings


async def token_store(ctx: AppContext, merchant: MerchantKeys) -> DbStateStore:
    async with ctx.sessions() as s:
        account_id = await s.scalar(
            select(GatewayAccount.id).where(
                GatewayAccount.merchant_id == merchant.id, GatewayAccount.gateway == "bkash"
            )
        )
    assert account_id is not None
    return DbStateStore(ctx, account_id)


async def test_two_payments_in_two_processes_share_one_grant(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext, database_url: str, tmp_path: Path,
) -> None:
    sim = sim_server.sim
    first, done = await pay_through(customer, wallet, await new_payment(customer, shop))
    assert "status=completed" in done.headers["location"]
    assert sim.grant_calls == 1

    # A second OwnPay process (its own context, engine and HTTP client; same database)
    # takes the next payment with the token the first one stored.
    other = AppContext.create(make_settings(database_url, tmp_path,
                                            gateway_timeout=PROVIDER_TIMEOUT))
    try:
        app = create_app(other.settings, ctx=other)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://pay.test"
        ) as second_process:
            txn = await new_payment(second_process, shop)
            _, done = await pay_through(second_process, wallet, txn)
            assert "status=completed" in done.headers["location"]
    finally:
        await other.close()
    assert sim.grant_calls == 1 and sim.refresh_calls == 0
    assert len(sim.tokens) == 1
    token = next(iter(sim.tokens))
    assert {r.headers["authorization"] for r in sim.requests if r.path in (CREATE, EXECUTE)} == {
        token
    }

    # stored encrypted: the row holds neither token in the clear, the store decrypts it
    store = await token_store(bkash_ctx, shop)
    async with bkash_ctx.sessions() as s:
        blob = await s.scalar(
            select(GatewayState.value_enc).where(
                GatewayState.account_id == store.account_id, GatewayState.key == TOKEN_STATE_KEY
            )
        )
    assert blob is not None and token.encode() not in blob
    refresh_token = sim.tokens[token].refresh_token
    assert refresh_token.encode() not in blob
    record = await store.get(TOKEN_STATE_KEY)
    assert record is not None and record["id_token"] == token


async def test_concurrent_checkouts_grant_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer
) -> None:
    txns = [await new_payment(customer, shop) for _ in range(4)]
    urls = await asyncio.gather(*[pay_with_bkash(customer, t) for t in txns])
    assert len(set(urls)) == 4
    assert sim_server.sim.grant_calls == 1 and sim_server.sim.calls[CREATE] == 4


async def test_two_processes_renewing_at_once_grant_once(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer,
    bkash_ctx: AppContext, database_url: str, tmp_path: Path,
) -> None:
    """Two processes that both find no token at the same moment: the store's cross-process
    lock (PostgreSQL advisory lock / SQLite data-dir file lock) lets one grant, and the
    other uses what it stored.  Two contexts and two adapter instances stand for the two
    processes: nothing in-process is shared between them."""
    txn = await new_payment(customer, shop)
    other = AppContext.create(make_settings(database_url, bkash_ctx.settings.data_dir,
                                            gateway_timeout=PROVIDER_TIMEOUT))
    try:
        contexts = []
        for process in (bkash_ctx, other):
            async with process.sessions() as s:
                intent = await s.get(PaymentIntent, txn)
            assert intent is not None
            contexts.append((await gateway_call(process, intent))[0])
        tokens = await asyncio.gather(*(BkashGateway()._token(g) for g in contexts * 2))
    finally:
        await other.close()
    assert len(set(tokens)) == 1
    assert sim_server.sim.grant_calls == 1


async def test_token_expiring_mid_payment_is_refreshed(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    """The token used to create the payment has expired at bKash by the time the customer
    comes back: execute is refused with HTTP 401 before bKash acts, the refresh token
    renews it, and execute is sent again -- executing once."""
    sim = sim_server.sim
    txn = await new_payment(customer, shop)
    bkash_url = await pay_with_bkash(customer, txn)
    back = await at_bkash(wallet, bkash_url)
    old = next(iter(sim.tokens))
    sim.expire_tokens()
    done = await customer.get(callback_location(back))
    assert "status=completed" in done.headers["location"]
    assert sim.grant_calls == 1 and sim.refresh_calls == 1
    executes = [r for r in sim.requests if r.path == EXECUTE]
    assert [r.headers["authorization"] == old for r in executes] == [True, False]
    payment_id = bkash_url.rsplit("/", 1)[-1]
    assert sim.execute_attempts[payment_id] == 1 and sim.execute_calls[payment_id] == 1
    refresh = next(r for r in sim.requests if r.path == REFRESH)
    assert refresh.body["refresh_token"] == sim.tokens[old].refresh_token
    assert refresh.headers["username"] == CREDENTIALS["username"]


async def test_token_near_expiry_is_refreshed_before_use(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    """An hour passes between two payments (for bKash and for us): the stored token is
    renewed with the refresh token before the call, so bKash never sees the stale one."""
    sim = sim_server.sim
    await pay_through(customer, wallet, await new_payment(customer, shop))
    store = await token_store(bkash_ctx, shop)
    record = await store.get(TOKEN_STATE_KEY)
    assert record is not None
    sim.advance(3600)
    await store.put(TOKEN_STATE_KEY, {**record, "expires_at": time.time() - 1})

    _, done = await pay_through(customer, wallet, await new_payment(customer, shop))
    assert "status=completed" in done.headers["location"]
    assert sim.grant_calls == 1 and sim.refresh_calls == 1
    stale = record["id_token"]
    later = [r for r in sim.requests if r.path in (CREATE, EXECUTE)][2:]
    assert later and all(r.headers["authorization"] != stale for r in later)
    assert len(later) == 2  # one create, one execute: nothing was refused and re-sent


async def test_refused_refresh_token_leads_to_a_new_grant(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    sim = sim_server.sim
    await pay_through(customer, wallet, await new_payment(customer, shop))
    sim.expire_tokens(refresh_tokens=True)
    _, done = await pay_through(customer, wallet, await new_payment(customer, shop))
    assert "status=completed" in done.headers["location"]
    assert (sim.grant_calls, sim.refresh_calls) == (2, 1)
    assert sim.calls[GRANT] == 2


async def test_changed_credentials_never_reuse_the_old_token(
    customer: httpx.AsyncClient, wallet: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    sim = sim_server.sim
    await pay_through(customer, wallet, await new_payment(customer, shop))
    # the merchant rotates to another bKash account (another simulator)
    async with running_simulator(app_key="key-2", username="user-2") as second:
        await enable_bkash(bkash_ctx, shop, **{**CREDENTIALS, "app_key": "key-2",
                                               "username": "user-2"},
                           base_url=second.base_url)
        _, done = await pay_through(customer, wallet, await new_payment(customer, shop))
        assert "status=completed" in done.headers["location"]
        assert second.sim.grant_calls == 1
    assert sim.grant_calls == 1


async def test_wrong_credentials_are_a_clear_error_and_change_nothing(
    customer: httpx.AsyncClient, sim_server: SimServer, bkash_ctx: AppContext,
) -> None:
    merchant = await create_merchant(bkash_ctx, gateways=())
    await enable_bkash(bkash_ctx, merchant, **{**CREDENTIALS, "app_secret": "wrong-secret"},
                       base_url=sim_server.base_url)
    txn = await new_payment(customer, merchant)
    page = await customer.get(f"/checkout/{txn}")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = await refused(customer, await customer.post(f"/checkout/{txn}/pay",
                                                    data={"csrf_token": token}), txn)
    assert "bKash is not available for this shop right now" in r.text
    assert "wrong-secret" not in r.text and "Invalid App Secret" not in r.text
    assert sim_server.sim.payments == {}
    got = await api_payment(customer, merchant, txn)
    assert got["status"] == "pending" and got["provider_reference"] is None
    store = await token_store(bkash_ctx, merchant)
    assert await store.get(TOKEN_STATE_KEY) is None


async def test_app_key_refused_by_the_api_gateway(
    customer: httpx.AsyncClient, shop: MerchantKeys, sim_server: SimServer
) -> None:
    """HTTP 403 ``Forbidden`` (X-APP-Key not accepted) is not retried and not a 500."""
    sim = sim_server.sim
    await pay_with_bkash(customer, await new_payment(customer, shop))
    sim.app_key = "rotated-at-bkash"
    txn = await new_payment(customer, shop)
    page = await customer.get(f"/checkout/{txn}")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = await refused(customer, await customer.post(f"/checkout/{txn}/pay",
                                                    data={"csrf_token": token}), txn)
    assert "bKash is not available for this shop" in r.text
    assert sim.calls[CREATE] == 2 and len(sim.payments) == 1

