"""The SMS pages in process (issue 13): each page for the roles that may see it, the inbox
(status filter, older pages, untrusted text escaped), the review queue, pairing a phone with
a code that really pairs, a forwarder URL that really forwards, revoking (a 404 for another
brand's device; the device's token and URL fail afterwards), alerts marked as looked at,
the pattern tester on a real bKash shape and on hostile input, the payment page's SMS
block, and the audit rows of every change.  Data is seeded through the real paths: the
device API with a simulated phone, payments through the API and the checkout."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest
from limits import parse_many
from sqlalchemy import func, select

from ownpay.audit.models import AuditEntry
from ownpay.dashboard import sms_pages
from ownpay.db import utcnow
from ownpay.sms.models import SmsAlert, SmsMessage
from tests.dashboard.config_support import audit_rows, expire_step_up, signed_in
from tests.support.dashboard import csrf_of, post_form
from tests.support.factories import create_merchant
from tests.support.personal_wallets import new_payment
from tests.support.sms import AMOUNT, installation_phone, shop, submit, wallet
from tests.support.sms_device import Phone, pairing_code, received

pytestmark = pytest.mark.api
HOSTILE = "<script>x</script>{{ 1 }}"
CODE = re.compile(r'id="pairing-code">(\d{6})<')


def trx() -> str:
    return "B" + secrets.token_hex(4).upper() + "Z"


async def actions(ctx: Any, action: str, merchant_id: int) -> list[AuditEntry]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.merchant_id == merchant_id)))


async def count_messages(ctx: Any) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(SmsMessage)) or 0)


@pytest.mark.parametrize(("role", "review", "manage"), [
    ("viewer", False, False), ("developer", False, False), ("operator", True, False),
    ("manager", True, True)])
async def test_each_page_opens_for_the_roles_that_may_see_it(
        client: httpx.AsyncClient, ctx: Any, role: str, review: bool, manage: bool) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, role, brand)
    home = await client.get("/admin/")
    assert 'href="/admin/sms"' in home.text  # the nav's SMS section
    for url in ("/admin/sms", "/admin/sms/devices", "/admin/sms/tester"):
        assert (await client.get(url)).status_code == 200, url
    queue = await client.get("/admin/sms/review")
    assert queue.status_code == (200 if review else 403)
    devices_page = await client.get("/admin/sms/devices")
    assert ('action="/admin/sms/devices/pair"' in devices_page.text) is manage
    assert ('href="/admin/sms/review"' in devices_page.text) is review


async def test_pairing_shows_a_code_once_that_pairs_and_revoking_stops_the_phone(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    made = await post_form(client, "/admin/sms/devices", "/admin/sms/devices/pair")
    assert made.status_code == 200, made.text
    code = CODE.search(made.text).group(1)  # type: ignore[union-attr]
    assert 'src="data:image/svg+xml' in made.text
    assert "/api/mobile/v1/devices" in made.text
    assert code not in (await client.get("/admin/sms/devices")).text  # shown once
    [row] = await actions(ctx, "device.pairing_code", brand.id)
    assert code not in str(row.changes)

    phone = Phone(client)
    assert (await phone.pair(code)).status_code == 201
    assert (await Phone(client).pair(code)).status_code == 401  # once
    assert (await phone.heartbeat(battery=80)).status_code == 200
    listing = await client.get("/admin/sms/devices")
    assert phone.device_id in listing.text and "80 %" in listing.text

    confirm = await client.get(f"/admin/sms/devices/{phone.device_id}/revoke")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    done = await client.post(f"/admin/sms/devices/{phone.device_id}/revoke",
                             data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 303
    assert "The device is revoked" in (await client.get(done.headers["location"])).text
    assert (await phone.heartbeat()).status_code == 401
    assert (await phone.credit("bkash", amount_minor=AMOUNT, party="01812345678",
                               trx=trx())).status_code == 401
    [revoked] = await audit_rows(ctx, "device.revoked", phone.device_id, brand.id)
    assert revoked.actor_type == "user"
    again = await client.post(f"/admin/sms/devices/{phone.device_id}/revoke",
                              data={"csrf_token": csrf_of(confirm.text)})
    assert "already revoked" in (await client.get(again.headers["location"])).text
    assert len(await audit_rows(ctx, "device.revoked", phone.device_id)) == 1


async def test_pairing_and_revoking_need_a_recent_password(client: httpx.AsyncClient,
                                                          ctx: Any) -> None:
    brand = await create_merchant(ctx)
    user = await signed_in(client, ctx, "owner", brand)
    await expire_step_up(ctx, user)
    asked = await post_form(client, "/admin/sms/devices", "/admin/sms/devices/pair")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/admin/confirm?next=%2Fadmin%2Fsms%2Fdevices"
    assert not await actions(ctx, "device.pairing_code", brand.id)


async def test_the_pairing_code_limit_of_the_cli_holds(client: httpx.AsyncClient,
                                                       ctx: Any, monkeypatch: Any) -> None:
    # The tests' limits are high; this brand meets a low one (the rule's code is the same).
    monkeypatch.setitem(ctx.rate_limiter.rules, "pairing_codes", parse_many("3/hour"))
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    page = await client.get("/admin/sms/devices")
    token = csrf_of(page.text)
    answers = [(await client.post("/admin/sms/devices/pair", data={"csrf_token": token}))
               for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "Too many pairing codes" in answers[3].text
    assert not CODE.search(answers[3].text)
    assert len(await actions(ctx, "device.pairing_code", brand.id)) == 3


async def test_a_forwarder_url_is_shown_once_forwards_and_stops_when_revoked(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "admin", brand)
    refused = await post_form(client, "/admin/sms/devices", "/admin/sms/devices/forwarder",
                              {"name": "   "})
    assert refused.status_code == 400 and "Give the phone a name" in refused.text
    made = await post_form(client, "/admin/sms/devices", "/admin/sms/devices/forwarder",
                           {"name": HOSTILE})
    assert made.status_code == 200
    assert "&lt;script&gt;x" in made.text and "<script>x" not in made.text
    url = re.search(r'id="new-secret">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    path = httpx.URL(url).path
    assert path.startswith("/api/mobile/v1/forward/")
    device_id = re.search(r"(dev_[0-9a-f]{16})", made.text).group(1)  # type: ignore[union-attr]
    assert path not in (await client.get("/admin/sms/devices")).text
    [row] = await audit_rows(ctx, "device.added", device_id, brand.id)
    assert path.rsplit("/", 1)[1] not in str(row.changes)

    body = {"from": "bKash", "text": received("bkash", amount_minor=50000,
                                              party="01812345678", trx=trx()),
            "sentStamp": _now_ms(), "receivedStamp": _now_ms(), "sim": "SIM1"}
    sent = await client.post(path, json=body)
    assert sent.status_code == 200 and sent.json()["status"] == "accepted", sent.text
    confirm = await client.get(f"/admin/sms/devices/{device_id}/revoke")
    assert "forwarding URL stops" in confirm.text
    await client.post(f"/admin/sms/devices/{device_id}/revoke",
                      data={"csrf_token": csrf_of(confirm.text)})
    after = await client.post(path, json={**body, "receivedStamp": _now_ms() + 1})
    assert after.status_code == 401


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


async def test_another_brands_devices_alerts_and_messages_are_not_there(
        client: httpx.AsyncClient, ctx: Any) -> None:
    mine, other = await create_merchant(ctx), await create_merchant(ctx)
    theirs = Phone(client)
    assert (await theirs.pair(await pairing_code(ctx, other.id))).status_code == 201
    their_trx = trx()
    await theirs.credit("bkash", amount_minor=77700, party="01812345678", trx=their_trx)
    async with ctx.sessions() as s, s.begin():
        alert = SmsAlert(merchant_id=other.id, mode="test", kind="gap", details={},
                         message="their gap", created_at=utcnow())
        s.add(alert)
        await s.flush()
        alert_id = alert.id
    await signed_in(client, ctx, "manager", mine)
    page = await client.get("/admin/sms/devices")
    token = csrf_of(page.text)
    assert theirs.device_id not in page.text and "their gap" not in page.text
    assert (await client.get(f"/admin/sms/devices/{theirs.device_id}/revoke")).status_code == 404
    refused = await client.post(f"/admin/sms/devices/{theirs.device_id}/revoke",
                                data={"csrf_token": token})
    assert refused.status_code == 404
    assert (await theirs.heartbeat()).status_code == 200  # still paired
    for odd in ("x" * 300, "dev_%D9%A1", "%3Cb%3E"):
        assert (await client.get(f"/admin/sms/devices/{odd}/revoke")).status_code == 404
    assert (await client.post(f"/admin/sms/alerts/{alert_id}/resolve",
                              data={"csrf_token": token})).status_code == 404
    inbox = await client.get("/admin/sms")
    assert their_trx not in inbox.text and "No messages" in inbox.text
    # An owner looking at our brand does not see theirs either.
    await signed_in(client, ctx, "owner", mine)
    assert their_trx not in (await client.get("/admin/sms")).text


async def test_the_inbox_lists_filters_pages_and_escapes(client: httpx.AsyncClient, ctx: Any,
                                                         monkeypatch: Any) -> None:
    merchant, phone = await shop(client, ctx)
    waiting = [trx() for _ in range(3)]
    for t in waiting:
        await phone.credit("bkash", amount_minor=99900, party="01812345678", trx=t)
    await phone.upload(phone.message("bKash", f"You have received {HOSTILE} from nobody"))
    await signed_in(client, ctx, "viewer", merchant)
    inbox = await client.get("/admin/sms")
    assert all(t in inbox.text for t in waiting)
    assert "&lt;script&gt;x&lt;/script&gt;{{ 1 }}" in inbox.text
    assert "<script>x" not in inbox.text
    assert inbox.text.index(waiting[2]) < inbox.text.index(waiting[0])  # newest first
    assert "999.00" in inbox.text
    review = await client.get("/admin/sms?status=review")
    assert "&lt;script&gt;x" in review.text and waiting[0] not in review.text
    only_waiting = await client.get("/admin/sms?status=waiting")
    assert all(t in only_waiting.text for t in waiting)
    assert "&lt;script&gt;x" not in only_waiting.text
    bad = await client.get("/admin/sms?status=%3Cb%3E")
    assert bad.status_code == 400 and "Choose matched, waiting, review or ignored." in bad.text
    for hostile in ("%00", "%ED%A0%80"):  # refused before any page (a clear 400)
        assert (await client.get(f"/admin/sms?before={hostile}")).status_code == 400
    for hostile in ("sms_" + "0" * 500, "%3Cscript%3E", "sms_%D9%A1%D9%A2"):
        odd = await client.get(f"/admin/sms?before={hostile}")
        assert odd.status_code == 400 and "does not exist" in odd.text, hostile

    monkeypatch.setattr(sms_pages, "PAGE_SIZE", 2)
    first = await client.get("/admin/sms?status=waiting")
    assert waiting[2] in first.text and waiting[1] in first.text
    assert waiting[0] not in first.text
    older = re.search(r'href="(/admin/sms\?[^"]+)" rel="next"', first.text)
    assert older is not None
    second = await client.get(older.group(1).replace("&amp;", "&"))
    assert waiting[0] in second.text and waiting[1] not in second.text
    assert 'rel="next"' not in second.text


async def test_the_review_queue_shows_payments_their_sms_and_unattached_messages(
        client: httpx.AsyncClient, ctx: Any) -> None:
    merchant, phone = await shop(client, ctx)
    txn = await new_payment(client, merchant, "bkash_personal")
    t = trx()
    await submit(client, txn, "01812345678", t)
    r = await phone.credit("bkash", amount_minor=AMOUNT - 100, party="01812345678", trx=t)
    assert r.json()["results"][0]["match"] == "review"
    quiet = await new_payment(client, merchant, "bkash_personal")
    await submit(client, quiet, "01812345678", trx())
    await phone.upload(phone.message("bKash", "Dear customer, something unexpected"))
    await signed_in(client, ctx, "operator", merchant)
    queue = await client.get("/admin/sms/review")
    assert queue.status_code == 200
    text = queue.text
    assert f'href="/admin/payments/{txn}"' in text and f'href="/admin/payments/{quiet}"' in text
    assert text.index(txn) < text.index(quiet)  # oldest first
    assert "01812345678" in text and t in text and "1250.50 BDT" in text
    assert "the SMS says 1249.50 BDT" in text
    assert "No SMS has named this payment yet." in text
    assert "Dear customer, something unexpected" in text  # review, no payment named
    # The payment page shows the SMS block with the decision, linking to the inbox.
    page = await client.get(f"/admin/payments/{txn}")
    assert 'id="sms-h"' in page.text and "the SMS says 1249.50 BDT" in page.text
    assert 'href="/admin/sms?status=review"' in page.text
    assert 'id="sms-h"' not in (await client.get(f"/admin/payments/{quiet}")).text


async def test_alerts_are_listed_and_marked_as_looked_at(client: httpx.AsyncClient,
                                                         ctx: Any) -> None:
    merchant, phone = await shop(client, ctx)
    await phone.upload(phone.message("bKash", "hello", sequence=1),
                       phone.message("bKash", "again", sequence=4))
    await signed_in(client, ctx, "viewer", merchant)
    seen = await client.get("/admin/sms/devices")
    assert "messages 2–3 never arrived" in seen.text
    assert "Mark as looked at" not in seen.text  # a viewer reads only
    await signed_in(client, ctx, "operator", merchant)
    page = await client.get("/admin/sms/devices")
    alert_id = int(re.search(r"/admin/sms/alerts/(\d+)/resolve", page.text).group(1))  # type: ignore[union-attr]
    done = await client.post(f"/admin/sms/alerts/{alert_id}/resolve",
                             data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert "marked as looked at" in after.text and "2–3 never arrived" not in after.text
    async with ctx.sessions() as s:
        row = await s.get(SmsAlert, alert_id)
    assert row is not None and row.resolved_at is not None
    assert len(await audit_rows(ctx, "sms_alert.resolved", alert_id, merchant.id)) == 1
    for odd in ("0", "-1", str(2**63), "9" * 40):
        gone = await client.post(f"/admin/sms/alerts/{odd}/resolve",
                                 data={"csrf_token": csrf_of(page.text)})
        assert gone.status_code == 404, odd


async def test_the_tester_reads_a_bkash_message_and_changes_nothing(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "viewer", brand)
    before = await count_messages(ctx)
    text = ("You have received Tk 1,250.50 from 01812345678. Fee Tk 0.00. Balance Tk "
            "10,250.50. TrxID BHQ4K8L2ZP at 04/12/2026 14:30")
    shown = await post_form(client, "/admin/sms/tester", "/admin/sms/tester",
                            {"sender": "bKash", "text": text})
    assert shown.status_code == 200, shown.text
    cells = dict(re.findall(r'<dt>([^<]+)</dt><dd class="mono">([^<]*)</dd>', shown.text))
    assert cells["kind"] == "received" and cells["provider"] == "bkash"
    assert cells["trx_id"] == "BHQ4K8L2ZP" and cells["party"] == "01812345678"
    assert cells["amount_minor"] == "125050 (1250.50 BDT)"
    assert cells["at"] == "2026-12-04T08:30:00+00:00"
    forged = await post_form(client, "/admin/sms/tester", "/admin/sms/tester",
                             {"sender": "01812345678", "text": text})
    assert "not_a_provider" in forged.text
    assert await count_messages(ctx) == before


@pytest.mark.parametrize(("fields", "status", "says"), [
    ({"sender": "bKash", "text": "x" * 1601}, 400, "at most 1,600 characters"),
    ({"sender": "bKash", "text": "x" * 20_000}, 400, "The form is too large."),
    ({"sender": "bKash", "text": "   "}, 400, "Paste the message."),
    ({"sender": "", "text": "hello"}, 400, "Give the sender id"),
    ({"sender": "b" * 41, "text": "hello"}, 400, "Give the sender id"),
    ({"sender": "bKash", "text": "Tk 5\x00 received"}, 400, "cannot be accepted"),
    ({"sender": "bKash\x00", "text": "hello"}, 400, "cannot be accepted"),
    ({"sender": "bKash", "text": "You have received Tk ৫০০.০০ from 01812345678. Fee Tk "
      "0.00. Balance Tk 10.00. TrxID BHQ4K8L2ZP at 04/12/2026 14:30"}, 200, "unrecognised"),
    ({"sender": "bKash", "text": "You have received Tk ²00.00 from 01812345678. Fee Tk "
      "0.00. Balance Tk 10.00. TrxID BHQ4K8L2ZP at 31/02/2026 14:30"}, 200, "unrecognised"),
])
async def test_the_tester_refuses_hostile_input_cleanly(
        client: httpx.AsyncClient, ctx: Any, fields: dict[str, str], status: int,
        says: str) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "viewer", brand)
    answer = await post_form(client, "/admin/sms/tester", "/admin/sms/tester", fields)
    assert answer.status_code == status, answer.text
    assert says in answer.text


async def test_a_lone_surrogate_in_the_tester_is_a_clear_400(client: httpx.AsyncClient,
                                                              ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "viewer", brand)
    page = await client.get("/admin/sms/tester")
    raw = f"csrf_token={csrf_of(page.text)}&sender=bKash&text=%ED%A0%80abc"
    answer = await client.post("/admin/sms/tester", content=raw, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400 and "cannot be accepted" in answer.text


async def test_installation_operators_manage_the_installations_phones(
        client: httpx.AsyncClient, ctx: Any) -> None:
    """``whose=installation``: owners and admins pair and add installation phones, see their
    messages and alerts and revoke them; for a brand role every such page is a 404."""
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "admin", brand)
    page = "/admin/sms/devices?whose=installation"
    view = await client.get(page)
    assert view.status_code == 200 and "The installation · Test mode" in view.text
    assert 'href="/admin/sms/devices">This brand' in view.text
    assert 'href="/admin/sms/devices?whose=installation"' in (
        await client.get("/admin/sms/devices")).text
    bogus = await client.get("/admin/sms/devices?whose=everyone")
    assert bogus.status_code == 404

    made = await post_form(client, page, "/admin/sms/devices/pair", {"whose": "installation"})
    assert made.status_code == 200
    code = CODE.search(made.text).group(1)  # type: ignore[union-attr]
    assert 'href="/admin/sms/devices?whose=installation">Done' in made.text
    phone = Phone(client)
    number = wallet()
    assert (await phone.pair(code, wallet_numbers=[number])).status_code == 201
    listed = (await client.get(page)).text
    assert phone.device_id in listed and number in listed
    assert phone.device_id not in (await client.get("/admin/sms/devices")).text

    refused = await post_form(client, page, "/admin/sms/devices/forwarder",
                              {"whose": "installation", "name": "counter"})
    assert refused.status_code == 400 and "needs its wallet numbers" in refused.text
    bad = await post_form(client, page, "/admin/sms/devices/forwarder",
                          {"whose": "installation", "name": "counter", "wallets": "12"})
    assert bad.status_code == 400 and "Up to 4 mobile numbers" in bad.text
    added = await post_form(client, page, "/admin/sms/devices/forwarder",
                            {"whose": "installation", "name": "counter", "wallets": number})
    assert added.status_code == 200 and f"for wallets {number}" in added.text

    r = await phone.credit("bkash", amount_minor=4200, party="01812345678", trx=trx())
    sms_id = r.json()["results"][0]["sms_id"]
    inbox = await client.get("/admin/sms?whose=installation")
    assert inbox.status_code == 200 and sms_id in inbox.text
    assert sms_id not in (await client.get("/admin/sms")).text

    confirm = await client.get(f"/admin/sms/devices/{phone.device_id}/revoke")
    assert confirm.status_code == 404  # not this brand's
    confirm = await client.get(f"/admin/sms/devices/{phone.device_id}/revoke?whose=installation")
    assert confirm.status_code == 200
    done = await client.post(f"/admin/sms/devices/{phone.device_id}/revoke", data={
        "csrf_token": csrf_of(confirm.text), "whose": "installation"})
    assert done.status_code == 303 and done.headers["location"].endswith(
        "?done=revoked&whose=installation")
    assert (await phone.heartbeat()).status_code == 401
    [row] = await audit_rows(ctx, "device.revoked", phone.device_id)
    assert row.merchant_id is None

    # A brand's manager reaches none of it.
    other = await installation_phone(client, ctx, wallet())
    client.cookies.clear()
    await signed_in(client, ctx, "manager", brand)
    for url in ("/admin/sms/devices?whose=installation", "/admin/sms?whose=installation",
                f"/admin/sms/devices/{other.device_id}/revoke?whose=installation"):
        assert (await client.get(url)).status_code == 404, url
    forged = await post_form(client, "/admin/sms/devices", "/admin/sms/devices/pair",
                             {"whose": "installation"})
    assert forged.status_code == 404
    assert (await other.heartbeat()).status_code == 200
