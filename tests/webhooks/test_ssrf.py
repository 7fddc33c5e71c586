"""The SSRF guard: literal addresses, names, URL shapes, DNS answers, pinning, and the guard
in action at endpoint creation, at delivery and in the test ping."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.webhooks import ssrf
from ownpay.webhooks.delivery import ClientPool, post_signed
from ownpay.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.support.factories import MerchantKeys
from tests.support.receivers import Receiver
from tests.support.webhooks import Contexts, add_endpoint, client_for, create_intent, move, pump

BLOCKED = [
    "169.254.169.254",  # cloud metadata (link-local)
    "169.254.170.2",  # ECS task metadata
    "100.100.100.200",  # Alibaba metadata (shared address space)
    "127.0.0.1",
    "127.9.9.9",
    "0.0.0.0",
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",  # CGNAT
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::ffff:192.168.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "2001:db8::1",  # documentation
]
HINT = "OWNPAY_WEBHOOKS_ALLOW_PRIVATE=true"
ALLOWED = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert ssrf.is_blocked(address), address
    assert ssrf.blocked_reason(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not ssrf.is_blocked(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8000/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://intranet/hook",
    ],
)
def test_urls_naming_internal_hosts_are_refused_unless_allowed(url: str) -> None:
    # Each refusal the setting lifts names it, so a developer knows how to test locally.
    with pytest.raises(ssrf.UnsafeUrl, match=HINT):
        ssrf.validate_url(url, mode="test", allow_private=False)
    assert ssrf.validate_url(url, mode="test", allow_private=True) == url


@pytest.mark.parametrize(
    ("url", "mode", "words"),
    [
        ("http://shop.example/hook", "live", "https"),
        ("ftp://shop.example/hook", "test", "https://"),
        ("https://user:pw@shop.example/hook", "test", "credentials"),
        ("https://shop.example/hook#x", "test", "fragment"),
        ("https:///hook", "test", "host"),
        ("https://shop.example:99999/hook", "test", "malformed"),
        ("https://shop.example/ho ok", "test", "spaces"),
        ("https://shop.example/" + "a" * 2100, "test", "2048"),
    ],
)
def test_malformed_urls_are_refused_even_when_private_is_allowed(
    url: str, mode: str, words: str
) -> None:
    with pytest.raises(ssrf.UnsafeUrl, match=words):
        ssrf.validate_url(url, mode=mode, allow_private=True)


def test_live_https_and_test_http_are_fine() -> None:
    assert (
        ssrf.validate_url(" https://shop.example/hook ", mode="live", allow_private=False)
        == "https://shop.example/hook"
    )
    assert ssrf.validate_url("http://shop.example/hook", mode="test", allow_private=False)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    calls: list[str] = []

    async def lookup(host: str, port: int, dns_timeout: float) -> list[Any]:
        calls.append(host)
        if host not in answers:
            raise ssrf.UnresolvableHost(f"DNS lookup of {host} failed")
        return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(ssrf, "_lookup", lookup)
    return calls


async def test_a_name_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(
        monkeypatch,
        {
            "rebind.example": ["93.184.216.34", "10.0.0.7"],
            "meta.example": ["169.254.169.254"],
            "good.example": ["93.184.216.34", "2606:4700:4700::1111"],
        },
    )
    with pytest.raises(ssrf.UnsafeUrl, match="private") as refused:
        await ssrf.resolve("https://rebind.example/hook", allow_private=False)
    # The internal address is not told (a tenant must not map internal DNS this way).
    assert "10.0.0.7" not in str(refused.value) and HINT in str(refused.value)
    with pytest.raises(ssrf.UnsafeUrl, match="metadata"):
        await ssrf.resolve("https://meta.example/hook", allow_private=False)
    target = await ssrf.resolve("https://good.example:8443/hook?x=1", allow_private=False)
    assert str(target.address) == "93.184.216.34"
    assert target.pinned_url == "https://93.184.216.34:8443/hook?x=1"
    assert target.host_header == "good.example:8443"
    allowed = await ssrf.resolve("http://rebind.example/hook", allow_private=True)
    assert str(allowed.address) == "93.184.216.34"


async def test_the_request_goes_to_the_checked_address_with_the_original_host(
    monkeypatch: pytest.MonkeyPatch, wctx: AppContext, receiver: Receiver
) -> None:
    """Pinning: one lookup per attempt, the connection goes to that address, and the Host
    header still names the configured host."""
    calls = _fake_dns(monkeypatch, {"hooks.shop.example": ["127.0.0.1"]})
    receiver.set("/pinned")
    pool = ClientPool(wctx.settings)
    try:
        result = await post_signed(
            pool,
            wctx.settings,
            url=f"http://hooks.shop.example:{receiver.port}/pinned",
            body=b"{}",
            headers={"Content-Type": "application/json"},
        )
    finally:
        await pool.aclose()
    assert result.success and result.status_code == 200, result
    assert calls == ["hooks.shop.example"]
    [got] = receiver.received("/pinned")
    assert got.headers["host"] == f"hooks.shop.example:{receiver.port}"


async def test_redirects_are_not_followed(wctx: AppContext, receiver: Receiver) -> None:
    receiver.set("/moved", status=302, headers={"Location": receiver.url + "/target"})
    receiver.set("/target")
    pool = ClientPool(wctx.settings)
    try:
        result = await post_signed(
            pool, wctx.settings, url=receiver.url + "/moved", body=b"{}", headers={}
        )
    finally:
        await pool.aclose()
    assert not result.success and result.status_code == 302 and "redirect" in (result.error or "")
    assert receiver.received("/target") == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/hook",
        "http://192.168.10.10/hook",
        "http://localhost:9/hook",
        "http://receiver:9/hook",  # a single-label name (a container's, say)
    ],
)
@pytest.mark.api
async def test_endpoint_creation_refuses_private_addresses_when_not_allowed(
    contexts: Contexts, url: str
) -> None:
    from tests.support.factories import create_merchant

    strict = contexts(webhooks_allow_private=False)
    shop = await create_merchant(strict)
    async with client_for(strict) as client:
        r = await client.post("/api/v1/webhook-endpoints", headers=shop.auth(), json={"url": url})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["code"] == "VALIDATION_ERROR" and body["error"] is True
        [message] = body["errors"]["url"]
        assert "not allowed" in message or "not a fully qualified" in message
        assert HINT in message, message  # how to allow it for local development
        # ... and the same URL is fine where private addresses are allowed (development)
        loose = contexts(webhooks_allow_private=True)
        async with client_for(loose) as dev:
            ok = await dev.post("/api/v1/webhook-endpoints", headers=shop.auth(), json={"url": url})
        assert ok.status_code == 201, ok.text


@pytest.mark.api
async def test_delivery_and_test_ping_refuse_private_addresses_at_send_time(
    contexts: Contexts, wclient: Any, shop: MerchantKeys, receiver: Receiver
) -> None:
    """An endpoint saved while private addresses were allowed is still refused when the
    worker runs without that permission: nothing reaches the receiver, the attempt says why."""
    url = receiver.set("/internal")
    endpoint = await add_endpoint(wclient, shop, url)
    strict = contexts(webhooks_allow_private=False)
    txn = await create_intent(wclient, shop)
    await move(strict, txn, "completed")
    await pump(strict)
    async with strict.sessions() as s:
        delivery = await s.scalar(select(WebhookDelivery).where(WebhookDelivery.payment_id == txn))
        assert delivery is not None and delivery.status == "retrying"
        attempt = await s.scalar(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
        )
    assert attempt is not None and attempt.status_code is None
    assert (
        attempt.error is not None
        and attempt.error.startswith("refused")
        and "loopback" in attempt.error
        and HINT in attempt.error
    )
    async with client_for(strict) as client:
        r = await client.post(
            "/api/v1/webhooks/tests", headers=shop.auth(), json={"endpoint_id": endpoint["id"]}
        )
    assert r.status_code == 200 and r.json()["success"] is False and "refused" in r.json()["error"]
    assert HINT in r.json()["error"]
    assert receiver.received() == []
