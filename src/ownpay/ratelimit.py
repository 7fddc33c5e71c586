"""Rate limits with the ``limits`` library: counters in each process by default, in Redis
when ``OWNPAY_REDIS_URL`` is set (so every process and host shares them).

Rules (each configurable, ``off`` to disable; several windows separated by ``;``):

==============================  =========================================================
``api_ip``                      every ``/api/`` request, per client IP
``api_auth_failures_ip``        API requests refused as unauthenticated, per client IP:
                                past the limit the IP is refused before its key is read
``api_key``                     authenticated API requests, per API key
``checkout_ip``                 checkout form submissions (pay, cancel, retry), per IP
``checkout_payment``            checkout form submissions, per payment
``provider_webhook_ip``         provider → OwnPay webhooks, per IP
``signin_account`` / ``_ip``    dashboard sign-in attempts, per account and per IP
``device_pairing_ip``           a phone's pairing-code exchanges, per IP
``device_pairing``              pairing-code exchanges, all IPs together (6 digits can
                                only be guessed slowly even from many addresses)
``pairing_codes``               pairing codes an operator makes, per brand
``link_payments_ip``            payments started on payment-link pages, per IP (each
                                holds a place under a link's cap until it expires)
``tls_ask_ip``                  ``GET /tls/ask`` (may a certificate be issued), per IP
==============================  =========================================================

A refusal is ``429`` in the surface's own error envelope with ``Retry-After`` and the IETF
draft's ``RateLimit-Limit``, ``-Remaining``, ``-Reset`` and ``RateLimit-Policy`` headers, and
is counted in ``ownpay_rate_limited_total{rule}``.  If the counter store fails (Redis down),
requests are let through -- a payment must not fail because a counter could not be read --
and ``ownpay_rate_limit_errors_total`` says so.
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass
from typing import Any

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from prometheus_client import Counter

from ownpay.config import RATE_LIMIT_FIELDS, Settings

log = structlog.get_logger("ownpay.ratelimit")

RATE_LIMITED = Counter("ownpay_rate_limited_total", "Requests refused by a rate limit", ["rule"])
RATE_LIMIT_ERRORS = Counter(
    "ownpay_rate_limit_errors_total", "Rate-limit checks that failed (the request was let in)")
PREFIX = "rate_limit_"


@dataclass(frozen=True)
class Decision:
    """The outcome of one check; ``headers`` for a 429."""

    rule: str
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window frees a request
    window: int  # seconds

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
            "RateLimit-Policy": f"{self.limit};w={self.window}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after))
        return headers


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        url = f"async+{settings.redis_url}" if settings.redis_url else "async+memory://"
        self.storage = storage_from_string(url)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.rules: dict[str, list[RateLimitItem]] = {}
        for name in RATE_LIMIT_FIELDS:
            text = str(getattr(settings, name))
            self.rules[name.removeprefix(PREFIX)] = [] if text == "off" else parse_many(text)

    def enabled(self, rule: str) -> bool:
        return bool(self.rules.get(rule))

    async def hit(self, rule: str, *key: str) -> Decision | None:
        """Count one request against ``rule`` for ``key``; the refusal, or None if allowed."""
        return await self._check(rule, key, consume=True)

    async def exceeded(self, rule: str, *key: str) -> Decision | None:
        """Whether ``rule`` is already exhausted for ``key`` (nothing counted)."""
        return await self._check(rule, key, consume=False)

    async def _check(self, rule: str, key: tuple[str, ...], *, consume: bool) -> Decision | None:
        for item in self.rules.get(rule, ()):
            try:
                ok = (await self.strategy.hit(item, rule, *key) if consume
                      else await self.strategy.test(item, rule, *key))
                if ok:
                    continue
                stats = await self.strategy.get_window_stats(item, rule, *key)
            except Exception as exc:  # noqa: BLE001 - a counter store outage lets requests in
                RATE_LIMIT_ERRORS.inc()
                log.warning("rate_limit_check_failed", rule=rule, error=str(exc))
                return None
            RATE_LIMITED.labels(rule=rule).inc()
            return Decision(
                rule=rule, allowed=False, limit=item.amount, remaining=max(stats.remaining, 0),
                reset_after=max(1, math.ceil(stats.reset_time - time.time())),
                window=int(item.get_expiry()),
            )
        return None

    async def reset(self) -> None:
        """Forget every counter (tests and operators after an incident)."""
        result: Any = self.storage.reset()
        if inspect.isawaitable(result):
            await result
