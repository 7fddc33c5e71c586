"""The domain service against a real DNS server on loopback: the state table, adding (every
bad name refused, unique across brands), verifying (TXT token and addresses, CNAME chains,
timeouts), the primary domain, and the worker's re-checks that suspend and restore."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ownpay.db import utcnow
from ownpay.domains import service
from ownpay.domains.models import BrandDomain
from ownpay.errors import InvalidState, NotFound, ValidationFailed
from ownpay.worker import run_once
from tests.support.dns import Zone
from tests.support.factories import create_merchant

pytestmark = pytest.mark.api


@pytest.mark.parametrize(("status", "failures", "ok", "after"), [
    ("pending", 0, True, ("verified", 0)),
    ("pending", 5, False, ("pending", 6)),
    ("verified", 0, True, ("verified", 0)),
    ("verified", 0, False, ("verified", 1)),
    ("verified", service.SUSPEND_AFTER - 1, False, ("suspended", service.SUSPEND_AFTER)),
    ("suspended", 7, True, ("verified", 0)),
    ("suspended", 3, False, ("suspended", 4)),
])
def test_the_state_table(status: str, failures: int, ok: bool,
                         after: tuple[str, int]) -> None:
    assert service.next_state(status, failures, ok) == after


def test_every_state_and_outcome_has_a_move() -> None:
    from ownpay.domains.models import STATUSES

    assert set(service.STATES) == {(s, ok) for s in STATUSES for ok in (True, False)}


async def _add(ctx: Any, merchant_id: int, name: str) -> BrandDomain:
    async with ctx.sessions() as s, s.begin():
        return await service.add_domain(s, merchant_id, name, settings=ctx.settings)


async def _row(ctx: Any, domain_id: str) -> BrandDomain:
    async with ctx.sessions() as s:
        row = await s.get(BrandDomain, domain_id)
        assert row is not None
        return row


@pytest.mark.parametrize("bad", [
    "pay\x00.example.com", "pay\ud800.example.com", "p" * 5000, "203.0.113.7", "[::1]",
    "2001:db8::1", "localhost", "https://pay.example.com/", "pay_shop.example.com", "", "-a.b",
    "pay.test",  # the installation's own host (the tests' base URL)
])
async def test_bad_names_are_refused_and_nothing_is_added(ctx: Any, bad: str) -> None:
    shop = await create_merchant(ctx)
    with pytest.raises(ValidationFailed) as refused:
        await _add(ctx, shop.id, bad)
    assert list(refused.value.errors) == ["domain"]
    async with ctx.sessions() as s:
        assert await service.list_domains(s, shop.id) == []


async def test_a_domain_is_normalised_and_unique_across_brands(ctx: Any) -> None:
    shop, other = await create_merchant(ctx), await create_merchant(ctx)
    name = f"Pay-{shop.id}.Shop.Example."
    row = await _add(ctx, shop.id, name)
    assert row.domain == f"pay-{shop.id}.shop.example" and row.status == "pending"
    assert row.token.startswith("ownpay-verify-") and len(row.token) == 46
    for who in (other.id, shop.id):
        with pytest.raises(ValidationFailed) as refused:
            await _add(ctx, who, name.lower())
        assert refused.value.errors == {"domain": [service.TAKEN]}
    idn = await _add(ctx, shop.id, f"বাংলা-{shop.id}.example")
    assert idn.domain.startswith("xn--") and idn.domain.isascii()
    async with ctx.sessions() as s:
        assert [d.id for d in await service.list_domains(s, shop.id)] == [row.id, idn.id]
        assert await service.list_domains(s, other.id) == []
        with pytest.raises(NotFound):
            await service.get_domain(s, other.id, row.id)


async def test_verifying_needs_the_token_and_our_addresses(ctx: Any, zone: Zone) -> None:
    shop = await create_merchant(ctx)
    row = await _add(ctx, shop.id, f"pay-{shop.id}.verify.example")
    checked = await service.verify(ctx, shop.id, row.id)
    assert checked.status == "pending" and checked.consecutive_failures == 1
    assert "does not exist" in (checked.last_error or "")
    zone.txt(f"_ownpay-verification.{row.domain}", "ownpay-verify-wrong")
    checked = await service.verify(ctx, shop.id, row.id)
    assert "does not contain this domain's token" in (checked.last_error or "")
    zone.txt(f"_ownpay-verification.{row.domain}", row.token)
    zone.a(row.domain, "198.51.100.9")
    checked = await service.verify(ctx, shop.id, row.id)
    assert "198.51.100.9" in (checked.last_error or "") and checked.status == "pending"
    zone.clear(row.domain)
    zone.cname(row.domain, f"edge-{shop.id}.cdn.example")
    zone.a(f"edge-{shop.id}.cdn.example", "203.0.113.7")
    checked = await service.verify(ctx, shop.id, row.id)
    assert checked.status == "verified", checked.last_error
    assert checked.consecutive_failures == 0 and checked.last_error is None
    assert checked.verified_at is not None and checked.last_checked_at is not None
    other = await create_merchant(ctx)
    with pytest.raises(NotFound):
        await service.verify(ctx, other.id, row.id)


async def test_a_silent_dns_server_is_a_bounded_failure(ctx: Any, zone: Zone) -> None:
    shop = await create_merchant(ctx)
    row = await _add(ctx, shop.id, f"pay-{shop.id}.slow.example")
    zone.silent = True
    started = utcnow()
    checked = await service.verify(ctx, shop.id, row.id)
    assert (utcnow() - started) < timedelta(seconds=3)
    assert checked.status == "pending" and "in time" in (checked.last_error or "")


async def test_without_public_addresses_nothing_verifies(ctx: Any, zone: Zone,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    monkeypatch.setattr(ctx, "settings", dataclasses.replace(ctx.settings, public_addresses=()))
    shop = await create_merchant(ctx)
    row = await _add(ctx, shop.id, f"pay-{shop.id}.noaddr.example")
    zone.prove(row.domain, row.token)
    checked = await service.verify(ctx, shop.id, row.id)
    assert checked.status == "pending" and "OWNPAY_PUBLIC_ADDRESSES" in (checked.last_error or "")


async def test_only_a_verified_domain_is_primary_and_one_at_a_time(ctx: Any,
                                                                   zone: Zone) -> None:
    shop = await create_merchant(ctx)
    first = await _add(ctx, shop.id, f"a-{shop.id}.primary.example")
    second = await _add(ctx, shop.id, f"b-{shop.id}.primary.example")
    async with ctx.sessions() as s, s.begin():
        with pytest.raises(InvalidState):
            await service.set_primary(s, shop.id, first.id)
    for row in (first, second):
        zone.prove(row.domain, row.token)
        await service.verify(ctx, shop.id, row.id)
    async with ctx.sessions() as s, s.begin():
        await service.set_primary(s, shop.id, first.id)
        assert await service.primary_base_url(s, shop.id) == f"https://{first.domain}"
    async with ctx.sessions() as s, s.begin():
        await service.set_primary(s, shop.id, second.id)
    assert not (await _row(ctx, first.id)).is_primary
    assert (await _row(ctx, second.id)).is_primary
    async with ctx.sessions() as s, s.begin():
        await service.remove_domain(s, shop.id, second.id)
        assert await service.primary_base_url(s, shop.id) is None


async def test_the_worker_verifies_suspends_after_three_failures_and_restores(
        ctx: Any, zone: Zone) -> None:
    shop = await create_merchant(ctx)
    row = await _add(ctx, shop.id, f"pay-{shop.id}.worker.example")
    zone.prove(row.domain, row.token)
    interval = timedelta(seconds=ctx.settings.domain_recheck_interval + 1)
    # Checked far "in the future": the session's live server runs a worker on this
    # database too (without our DNS), and may have claimed the new domain already at its
    # own clock -- which leaves it due again only at that claim plus one interval.
    now = utcnow() + 10 * interval
    await service.recheck_due(ctx, now=now, limit=1000)
    assert (await _row(ctx, row.id)).status == "verified"
    zone.clear(row.domain)  # the domain stopped pointing at us
    for n in range(1, service.SUSPEND_AFTER + 1):
        assert (await _row(ctx, row.id)).status == "verified"
        now += interval
        await service.recheck_due(ctx, now=now, limit=1000)
        seen = await _row(ctx, row.id)
        assert seen.consecutive_failures == n
    assert seen.status == "suspended" and "does not exist" in (seen.last_error or "")
    await service.recheck_due(ctx, now=now + timedelta(seconds=30), limit=1000)
    assert (await _row(ctx, row.id)).consecutive_failures == n  # not due again yet
    zone.a(row.domain, "203.0.113.7")
    await service.recheck_due(ctx, now=now + interval, limit=1000)
    back = await _row(ctx, row.id)
    assert back.status == "verified" and back.consecutive_failures == 0


async def test_the_worker_runs_the_domain_step(ctx: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    async def recorded(context: Any) -> int:
        calls.append(context)
        return 0

    monkeypatch.setattr("ownpay.worker.domains.recheck_due", recorded)
    await run_once(ctx)
    assert calls == [ctx]


async def test_a_check_that_raced_another_changes_nothing(ctx: Any) -> None:
    from ownpay.domains.proof import Check

    shop = await create_merchant(ctx)
    row = await _add(ctx, shop.id, f"pay-{shop.id}.race.example")
    seen = service.Seen.of(row)
    async with ctx.sessions() as s, s.begin():
        assert await service.record_check(s, seen, Check(True), now=utcnow())
    async with ctx.sessions() as s, s.begin():
        assert not await service.record_check(s, seen, Check(False, "late"), now=utcnow())
    async with ctx.sessions() as s:
        after = await s.scalar(select(BrandDomain).where(BrandDomain.id == row.id))
    assert after is not None and after.status == "verified" and after.last_error is None
