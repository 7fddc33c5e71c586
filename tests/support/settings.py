"""Settings for the application under test: deterministic, no embedded worker, no caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ownpay.config import RATE_LIMIT_FIELDS, Settings

SECRET_KEY = "A" * 43  # base64 of 32 zero-ish bytes: deterministic for tests
# Every test talks from 127.0.0.1: the limits stay on (their code runs) but high enough that
# only the rate-limit tests, which set their own, ever reach one.
TEST_RATE_LIMITS = {name: "100000/minute" for name in RATE_LIMIT_FIELDS}
# The provider timeout of the apps the gateway tests drive: short, so a fault test that makes
# a stand-in answer late (after ``SLOWER_THAN_TIMEOUT``) waits only this long, but with room
# for an ordinary call on a loaded CI machine (a Razorpay order took 1.6 s, a Nagad initialize
# with its RSA work 3.8 s, while the fault storm ran).
PROVIDER_TIMEOUT = 6.0
SLOWER_THAN_TIMEOUT = PROVIDER_TIMEOUT + 3.0


def make_settings(database_url: str, data_dir: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "base_url": "http://pay.test",
        "secret_key": SECRET_KEY,
        "run_worker": False,
        "auth_cache_ttl": 0.0,
        "webhooks_allow_private": True,
        # A few connections per process: xdist workers, their servers and the fault storm
        # share one PostgreSQL (max_connections 100 by default).
        "database_pool_size": 4,
        **TEST_RATE_LIMITS,
    }
    values.update(extra)
    return Settings(**values)
