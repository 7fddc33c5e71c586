"""Sending one delivery: resolve and check the host (SSRF rules), POST the exact bytes to
the pinned address with fresh signatures, keep the first 2 KiB of the answer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from ownpay.config import Settings
from ownpay.context import AppContext
from ownpay.db import utcnow
from ownpay.webhooks import ssrf
from ownpay.webhooks.signing import OWNPAY, sign_headers

RESPONSE_PREFIX = 2048  # bytes of the receiver's answer kept per attempt


@dataclass(frozen=True)
class Claim:
    """One leased delivery, with everything needed to send it without the database."""

    delivery_id: str
    lease_token: str
    endpoint_id: str
    merchant_id: int
    url: str
    event_type: str
    body: bytes
    attempts: int  # attempts recorded before this one
    secrets: list[str]
    scheme: str = OWNPAY


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_body: str | None
    error: str | None

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


class ClientPool:
    """One HTTP client per destination host name.

    Connections are made to a pinned IP address, so the pool key must include the name the
    TLS certificate was checked against: a connection verified for one host is never reused
    for another host that happens to share its address.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[tuple[str, str], httpx.AsyncClient] = {}

    def get(self, scheme: str, host: str) -> httpx.AsyncClient:
        key = (scheme, host)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.settings.webhook_timeout),
                follow_redirects=False,
                trust_env=False,  # a proxy from the environment would bypass the pinning
                # Several endpoints may share a host: allow the whole worker's concurrency.
                limits=httpx.Limits(
                    max_connections=self.settings.webhook_concurrency,
                    max_keepalive_connections=self.settings.webhook_concurrency,
                ),
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()


def _describe(exc: BaseException) -> str:
    match exc:
        case httpx.ConnectTimeout():
            return "connect timeout"
        case httpx.TimeoutException():
            return "timeout"
        case httpx.ConnectError():
            return f"connection failed: {exc}" if str(exc) else "connection failed"
        case httpx.RemoteProtocolError():
            return f"protocol error: {exc}"
        case _:
            return f"{type(exc).__name__}: {exc}"


def _decode_prefix(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL; a receiver's binary answer is kept readable.
    return raw[:RESPONSE_PREFIX].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def post_signed(
    pool: ClientPool, settings: Settings, *, url: str, body: bytes, headers: dict[str, str]
) -> AttemptResult:
    """Resolve and check the host, POST to the checked address, keep the first 2 KiB."""
    started_at = utcnow()
    t0 = time.perf_counter()
    status_code: int | None = None
    kept = bytearray()
    error: str | None = None
    try:
        async with asyncio.timeout(settings.webhook_timeout):
            target = await ssrf.resolve(url, allow_private=settings.webhooks_allow_private)
            client = pool.get(target.scheme, target.host)
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request = client.build_request(
                "POST", target.pinned_url, content=body,
                headers={**headers, "Host": target.host_header}, extensions=extensions,
            )
            response = await client.send(request, stream=True)
            try:
                status_code = response.status_code
                async for chunk in response.aiter_bytes():
                    kept.extend(chunk[: RESPONSE_PREFIX - len(kept)])
                    if len(kept) >= RESPONSE_PREFIX:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        error = f"timeout: no complete answer within {settings.webhook_timeout:g} s"
    except ssrf.UnsafeUrl as exc:
        error = f"refused: {exc}"
    except httpx.HTTPError as exc:
        error = _describe(exc)
    except OSError as exc:
        error = f"network error: {exc}"
    duration_ms = int((time.perf_counter() - t0) * 1000)
    if error is None and status_code is not None and 300 <= status_code < 400:
        error = "redirects are not followed"
    return AttemptResult(
        started_at=started_at, duration_ms=duration_ms, status_code=status_code,
        response_body=_decode_prefix(bytes(kept)) if kept or status_code is not None else None,
        error=error[:500] if error else None,
    )


async def attempt(ctx: AppContext, pool: ClientPool, claim: Claim) -> AttemptResult:
    """Sign (afresh, with the current timestamp) and send one claimed delivery."""
    headers = sign_headers(
        claim.secrets, event_type=claim.event_type, delivery_id=claim.delivery_id,
        body=claim.body, timestamp=int(time.time()), scheme=claim.scheme,
    )
    return await post_signed(pool, ctx.settings, url=claim.url, body=claim.body, headers=headers)
