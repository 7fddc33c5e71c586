"""Migration 0018 (brand domains) on both engines: up, down and up again; a domain is
unique across the installation; a brand has at most one primary domain; the status is one
of three."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import migration_engine, seed_old_payment

pytestmark = pytest.mark.slow

DOMAIN = ("INSERT INTO brand_domains (id, merchant_id, domain, token, status, is_primary, "
          "created_at, consecutive_failures) VALUES (:id, :merchant, :domain, 'tok', "
          ":status, :primary, CURRENT_TIMESTAMP, 0)")


async def test_brand_domains_up_down_and_constraints(backend: str, tmp_path: Path) -> None:
    async with migration_engine(backend, tmp_path) as (engine, run):
        async with engine.begin() as conn:
            await conn.run_sync(run, "0017", True)
            await seed_old_payment(conn)
        for target, up in (("head", True), ("0017", False), ("head", True)):
            async with engine.begin() as conn:
                await conn.run_sync(run, target, up)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO merchants (id, slug, name, status, created_at) "
                "VALUES (2, 'other', 'Other', 'active', CURRENT_TIMESTAMP)"))
            rows = [("dom_1", 1, "pay.one.example", "verified", True),
                    ("dom_2", 1, "shop.one.example", "pending", False),
                    ("dom_3", 1, "old.one.example", "suspended", False),
                    ("dom_4", 2, "pay.two.example", "verified", True)]
            for id_, merchant, domain, status, primary in rows:
                await conn.execute(text(DOMAIN), {"id": id_, "merchant": merchant,
                                                  "domain": domain, "status": status,
                                                  "primary": primary})
        refused = [
            {"id": "dom_5", "merchant": 2, "domain": "pay.one.example", "status": "pending",
             "primary": False},  # taken by brand 1
            {"id": "dom_6", "merchant": 1, "domain": "x.one.example", "status": "verified",
             "primary": True},  # a second primary
            {"id": "dom_7", "merchant": 1, "domain": "y.one.example", "status": "gone",
             "primary": False},  # not a status
        ]
        for values in refused:
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(text(DOMAIN), values)
        async with engine.begin() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM brand_domains"))).scalar()
        assert count == 4
