"""The SMS pages in Chromium at desktop and phone size on a real ``ownpay serve``, every step
through the real links and buttons: a manager reads the inbox (and filters it), works the
review queue to the payment page and its SMS block, pairs a phone (after "Confirm it is
you") whose code the simulated phone then exchanges, adds a forwarder, revokes a device
and marks an alert as looked at; a viewer uses the pattern tester.  Each page passes
axe-core, is kept as a screenshot and does not scroll sideways."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import select

from ownpay.sms.models import SmsAlert, SmsDevice
from tests.dashboard.actions_support import age_step_up, confirm_it_is_me
from tests.support.dashboard import make_user
from tests.support.dashboard_browser import browser_sign_in, check_page, follow
from tests.support.personal_wallets import new_payment
from tests.support.sms import AMOUNT, installation_phone, shop, submit, wallet
from tests.support.sms_device import Phone

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
LONG = "You have received " + "Tk" * 60 + " <b>bold</b> from nobody"


async def seed(api: httpx.AsyncClient, ctx: Any) -> tuple[Any, Phone, str, str]:
    """A shop with a paired phone, a payment in review (the SMS amount differs), a waiting
    credit, an unreadable message with a long unbroken word and a sequence gap."""
    merchant, phone = await shop(api, ctx)
    txn = await new_payment(api, merchant, "bkash_personal")
    trx = "B" + secrets.token_hex(4).upper() + "Q"
    await submit(api, txn, "01812345678", trx)
    r = await phone.credit("bkash", amount_minor=AMOUNT - 100, party="01812345678", trx=trx)
    assert r.json()["results"][0]["match"] == "review", r.text
    await phone.credit("bkash", amount_minor=50000, party="01912345678", trx="BWAIT0" + trx[-4:])
    phone.sequence += 2  # two messages that never arrive: a gap alert
    await phone.upload(phone.message("bKash", LONG))
    return merchant, phone, txn, trx


async def test_a_manager_works_the_sms_pages(live_server: Any, ctx: Any, dash: Any,
                                             shot: Any) -> None:
    base = live_server.url
    async with httpx.AsyncClient(base_url=base, timeout=15) as api:
        merchant, phone, txn, trx = await seed(api, ctx)
        manager = await make_user(ctx, "manager", merchant=merchant.slug)
        await browser_sign_in(dash, base, manager.email, manager.password)
        await age_step_up(ctx, manager.id)

        nav = dash.get_by_role("navigation", name="Dashboard")
        await follow(dash, nav.get_by_role("link", name="SMS"))
        await expect(dash.get_by_role("heading", level=1)).to_contain_text("SMS inbox")
        await expect(dash.get_by_role("cell", name=trx)).to_be_visible()
        await check_page(dash, shot, "sms-inbox")
        await dash.get_by_label("Status").select_option("review")
        await follow(dash, dash.get_by_role("button", name="Show messages"))
        await expect(dash.get_by_role("cell", name="BWAIT0" + trx[-4:])).to_have_count(0)
        await dash.locator("summary").first.click()
        await expect(dash.get_by_text("<b>bold</b>", exact=False)).to_be_visible()
        await check_page(dash, shot, "sms-inbox-review")

        tabs = dash.get_by_role("navigation", name="SMS pages")
        await follow(dash, tabs.get_by_role("link", name="Review queue"))
        await expect(dash.get_by_text("the SMS says 1249.50 BDT").first).to_be_visible()
        await check_page(dash, shot, "sms-review")
        await follow(dash, dash.get_by_role("link", name=txn).first)
        sms = dash.get_by_role("region", name="SMS decisions about this payment")
        await expect(sms).to_contain_text("the SMS says 1249.50 BDT")
        await check_page(dash, shot, "sms-payment")

        await follow(dash, nav.get_by_role("link", name="SMS"))
        await follow(dash, tabs.get_by_role("link", name="Devices"))
        await expect(dash.get_by_role("cell", name=re.compile("never arrived"))).to_be_visible()
        await check_page(dash, shot, "sms-devices")
        await follow(dash, dash.get_by_role("button", name="Pair a phone"))
        await confirm_it_is_me(dash, shot, manager.password, "sms-pair-confirm")
        await follow(dash, dash.get_by_role("button", name="Pair a phone"))
        code = (await dash.locator("#pairing-code").inner_text()).strip()
        assert re.fullmatch(r"\d{6}", code)
        await expect(dash.get_by_role("img", name=f"QR code of the pairing code {code}")
                     ).to_be_visible()
        await check_page(dash, shot, "sms-paired")
        second = Phone(api)
        assert (await second.pair(code)).status_code == 201
        await follow(dash, dash.get_by_role("link", name="Done"))

        await dash.get_by_label("Phone name").fill("counter phone")
        await follow(dash, dash.get_by_role("button", name="Add a forwarder"))
        await expect(dash.locator("#new-secret")).to_contain_text("/api/mobile/v1/forward/")
        await check_page(dash, shot, "sms-forwarder")
        await follow(dash, dash.get_by_role("link", name="Done"))

        await follow(dash, dash.get_by_role("link", name="Revoke shop phone").first)
        await check_page(dash, shot, "sms-revoke")
        await follow(dash, dash.get_by_role("button", name="Revoke the device"))
        await expect(dash.get_by_role("status").filter(has_text="The device is revoked")
                     ).to_be_visible()
        assert (await phone.heartbeat()).status_code == 401
        assert (await second.heartbeat()).status_code == 200

        looked = dash.get_by_role("button", name=re.compile("Mark as looked at"))
        for _ in range(await looked.count()):  # the gap, and the balance the credits broke
            await follow(dash, looked.first)
            await expect(dash.get_by_role("status").filter(has_text="marked as looked at")
                         ).to_be_visible()
        await expect(dash.get_by_role("cell", name="No open alerts.")).to_be_visible()
        await check_page(dash, shot, "sms-devices-after")
    async with ctx.sessions() as s:
        revoked = await s.get(SmsDevice, phone.device_id)
        open_alerts = list(await s.scalars(select(SmsAlert).where(
            SmsAlert.merchant_id == merchant.id, SmsAlert.resolved_at.is_(None))))
    assert revoked is not None and revoked.revoked_at is not None
    assert not open_alerts


async def test_a_viewer_tries_a_message_in_the_pattern_tester(live_server: Any, ctx: Any,
                                                              dash: Any, shot: Any) -> None:
    base = live_server.url
    async with httpx.AsyncClient(base_url=base, timeout=15) as api:
        merchant, _phone = await shop(api, ctx)
    viewer = await make_user(ctx, "viewer", merchant=merchant.slug)
    await browser_sign_in(dash, base, viewer.email, viewer.password)
    await follow(dash, dash.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="SMS"))
    tabs = dash.get_by_role("navigation", name="SMS pages")
    await expect(tabs.get_by_role("link", name="Review queue")).to_have_count(0)
    await follow(dash, tabs.get_by_role("link", name="Pattern tester"))
    await check_page(dash, shot, "sms-tester")
    await dash.get_by_label("Message").fill("x" * 1601)
    await follow(dash, dash.get_by_role("button", name="Read the message"))
    await expect(dash.locator("#e-text")).to_contain_text("at most 1,600 characters")
    await check_page(dash, shot, "sms-tester-refused")
    await dash.get_by_label("Message").fill(
        "You have received Tk 1,250.50 from 01812345678. Ref BOOK 77. Fee Tk 0.00. Balance "
        "Tk 10,250.50. TrxID BHQ4K8L2ZP at 04/12/2026 14:30")
    await follow(dash, dash.get_by_role("button", name="Read the message"))
    result = dash.get_by_role("region", name="What OwnPay reads")
    await expect(result).to_contain_text("BHQ4K8L2ZP")
    await expect(result).to_contain_text("received")
    await check_page(dash, shot, "sms-tester-result")


async def test_an_admin_manages_the_installations_phones(live_server: Any, ctx: Any,
                                                          dash: Any, shot: Any) -> None:
    """From the brand's devices page to the installation's: its phones with their wallets,
    a forwarder added for a wallet (after "Confirm it is you"), and its inbox."""
    base = live_server.url
    number = wallet()
    name = f"counter phone {number[-4:]}"
    async with httpx.AsyncClient(base_url=base, timeout=15) as api:
        merchant, _phone = await shop(api, ctx)
        shared = await installation_phone(api, ctx, number)
        trx = "B" + secrets.token_hex(4).upper() + "I"
        await shared.credit("bkash", amount_minor=31000, party="01812345678", trx=trx)
    admin = await make_user(ctx, "admin")
    await browser_sign_in(dash, base, admin.email, admin.password)
    await age_step_up(ctx, admin.id)
    await dash.goto(f"{base}/admin/sms/devices")
    await follow(dash, dash.get_by_role("link", name="The installation's phones"))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("The installation")
    await expect(dash.get_by_role("cell", name=number).first).to_be_visible()
    await check_page(dash, shot, "sms-installation-devices")

    await dash.get_by_label("Phone name").fill(name)
    await follow(dash, dash.get_by_role("button", name="Add a forwarder"))
    await confirm_it_is_me(dash, shot, admin.password, "sms-installation-confirm")
    await dash.goto(f"{base}/admin/sms/devices?whose=installation")
    await dash.get_by_label("Phone name").fill(name)
    await follow(dash, dash.get_by_role("button", name="Add a forwarder"))
    await expect(dash.locator("#f-wallets")).to_have_attribute("aria-invalid", "true")
    await check_page(dash, shot, "sms-installation-forwarder-refused")
    await dash.get_by_label(re.compile("Wallet numbers")).fill(number)
    await follow(dash, dash.get_by_role("button", name="Add a forwarder"))
    await expect(dash.locator("#new-secret")).to_contain_text("/api/mobile/v1/forward/")
    await expect(dash.get_by_text(f"for wallets {number}")).to_be_visible()
    await follow(dash, dash.get_by_role("link", name="Done"))
    await expect(dash.get_by_role("heading", level=1)).to_contain_text("The installation")

    tabs = dash.get_by_role("navigation", name="SMS pages")
    await follow(dash, tabs.get_by_role("link", name="Inbox"))
    await follow(dash, dash.get_by_role("link", name="The installation's phones"))
    await expect(dash.get_by_role("cell", name=trx)).to_be_visible()
    await check_page(dash, shot, "sms-installation-inbox")
    async with ctx.sessions() as s:
        added = await s.scalar(select(SmsDevice).where(SmsDevice.name == name,
                                                       SmsDevice.merchant_id.is_(None)))
    assert added is not None and added.wallets == [number]
