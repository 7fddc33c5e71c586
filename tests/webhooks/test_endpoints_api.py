"""``/api/v1/webhook-endpoints``: CRUD, validation, secrets shown once and sealed at rest,
rotation, scopes and tenant isolation (another merchant's or mode's endpoint is a 404)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.webhooks.models import WebhookEndpoint
from tests.support.factories import MerchantKeys, create_merchant
from tests.support.webhooks import add_endpoint

BASE = "/api/v1/webhook-endpoints"


async def test_create_returns_the_secret_once_and_never_again(
    wclient: httpx.AsyncClient, shop: MerchantKeys, wctx: AppContext
) -> None:
    created = await add_endpoint(
        wclient,
        shop,
        "https://shop.example/hooks",
        events=["payment.completed", "payment.failed"],
        description="orders",
    )
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) == 6 + 44
    assert (
        created["id"].startswith("we_") and created["mode"] == "test" and created["enabled"] is True
    )
    assert created["events"] == ["payment.completed", "payment.failed"]
    assert created["description"] == "orders" and created["previous_secret_expires_at"] is None

    one = await wclient.get(f"{BASE}/{created['id']}", headers=shop.auth())
    listing = await wclient.get(BASE, headers=shop.auth())
    assert one.status_code == 200 and listing.status_code == 200
    assert secret not in one.text and secret not in listing.text and 'secret"' not in one.text
    assert [e["id"] for e in listing.json()["data"]] == [created["id"]]
    assert one.json() == {k: v for k, v in created.items() if k != "secret"}

    async with wctx.sessions() as s:
        row = await s.get(WebhookEndpoint, created["id"])
    assert row is not None and secret.encode() not in row.secret_enc
    assert secret.removeprefix("whsec_").encode() not in row.secret_enc


async def test_default_subscription_is_everything(
    wclient: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    created = await add_endpoint(wclient, shop, "http://127.0.0.1:9/all")
    assert created["events"] == ["*"] and created["description"] is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"url"}),
        ({"url": "ftp://shop.example/x"}, {"url"}),
        ({"url": "https://shop.example/x", "events": []}, {"events"}),
        ({"url": "https://shop.example/x", "events": ["payment.paid"]}, {"events"}),
        ({"url": "https://shop.example/x", "events": ["*", "payment.completed"]}, {"events"}),
        ({"url": "https://shop.example/x", "events": "payment.completed"}, {"events"}),
        (
            {"url": 5, "events": [1], "description": "x" * 501, "secret": "mine"},
            {"url", "events", "description", "secret"},
        ),
        ({"url": "https://shop.example/x", "enabled": False}, {"enabled"}),
    ],
)
async def test_validation_reports_every_bad_field(
    wclient: httpx.AsyncClient, shop: MerchantKeys, body: dict[str, Any], fields: set[str]
) -> None:
    r = await wclient.post(BASE, headers=shop.auth(), json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "VALIDATION_ERROR" and set(r.json()["errors"]) == fields


async def test_refund_and_link_events_are_subscribable(
    wclient: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    events = [
        "payment.refunded",
        "payment.partially_refunded",
        "payment.awaiting_verification",
        "payment.expired",
        "payment.cancelled",
        "link.paid",
    ]
    assert (await add_endpoint(wclient, shop, "https://shop.example/r", events=events))[
        "events"
    ] == events


async def test_live_mode_requires_https(wclient: httpx.AsyncClient, shop: MerchantKeys) -> None:
    r = await wclient.post(BASE, headers=shop.auth("live"), json={"url": "http://shop.example/x"})
    assert r.status_code == 400 and "https" in r.json()["errors"]["url"][0]
    live = await add_endpoint(wclient, shop, "https://shop.example/x", mode="live")
    assert live["mode"] == "live"
    patch = await wclient.patch(
        f"{BASE}/{live['id']}", headers=shop.auth("live"), json={"url": "http://shop.example/y"}
    )
    assert patch.status_code == 400 and patch.json()["errors"]["url"]


async def test_malformed_bodies_use_the_envelope(
    wclient: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    r = await wclient.post(
        BASE, headers={**shop.auth(), "Content-Type": "application/json"}, content=b"[1"
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_JSON"
    r = await wclient.post(
        BASE, headers={**shop.auth(), "Content-Type": "text/plain"}, content=b"{}"
    )
    assert r.status_code == 415 and r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_update_changes_only_what_is_sent(
    wclient: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    created = await add_endpoint(wclient, shop, "https://shop.example/a", description="first")
    url = f"{BASE}/{created['id']}"
    r = await wclient.patch(
        url, headers=shop.auth(), json={"enabled": False, "events": ["payment.failed"]}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["enabled"] is False and body["events"] == ["payment.failed"]
    assert body["url"] == "https://shop.example/a" and body["description"] == "first"
    r = await wclient.patch(
        url, headers=shop.auth(), json={"url": "https://shop.example/b", "description": None}
    )
    assert r.json()["url"] == "https://shop.example/b" and r.json()["description"] is None
    for bad in ({}, {"enabled": "no"}, {"enable": True}):
        r = await wclient.patch(url, headers=shop.auth(), json=bad)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR", bad


async def test_delete_hides_the_endpoint_and_wipes_its_secret(
    wclient: httpx.AsyncClient, shop: MerchantKeys, wctx: AppContext
) -> None:
    created = await add_endpoint(wclient, shop, "https://shop.example/gone")
    r = await wclient.delete(f"{BASE}/{created['id']}", headers=shop.auth())
    assert r.status_code == 200 and r.json() == {"id": created["id"], "deleted": True}
    assert (await wclient.get(f"{BASE}/{created['id']}", headers=shop.auth())).status_code == 404
    assert (await wclient.delete(f"{BASE}/{created['id']}", headers=shop.auth())).status_code == 404
    assert created["id"] not in (await wclient.get(BASE, headers=shop.auth())).text
    async with wctx.sessions() as s:
        row = await s.get(WebhookEndpoint, created["id"])
    assert row is not None and row.deleted_at is not None and row.secret_enc == b""


async def test_rotation_returns_a_new_secret_and_keeps_the_old_for_24h(
    wclient: httpx.AsyncClient, shop: MerchantKeys
) -> None:
    from datetime import UTC, datetime, timedelta

    created = await add_endpoint(wclient, shop, "https://shop.example/rot")
    r = await wclient.post(f"{BASE}/{created['id']}/rotate-secret", headers=shop.auth())
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    until = datetime.fromisoformat(rotated["previous_secret_expires_at"].replace("Z", "+00:00"))
    assert abs(until - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    again = await wclient.get(f"{BASE}/{created['id']}", headers=shop.auth())
    assert rotated["secret"] not in again.text and again.json()["previous_secret_expires_at"]


async def test_endpoint_limit(wclient: httpx.AsyncClient, wctx: AppContext) -> None:
    from ownpay.webhooks.service import MAX_ENDPOINTS

    shop = await create_merchant(wctx)
    for i in range(MAX_ENDPOINTS):
        await add_endpoint(wclient, shop, f"https://shop.example/{i}")
    r = await wclient.post(BASE, headers=shop.auth(), json={"url": "https://shop.example/more"})
    assert r.status_code == 409 and r.json()["code"] == "WEBHOOK_ENDPOINT_LIMIT"
    assert (
        await wclient.post(BASE, headers=shop.auth("live"), json={"url": "https://shop.example/l"})
    ).status_code == 201


async def _key(ctx: AppContext, shop: MerchantKeys, scopes: tuple[str, ...]) -> dict[str, str]:
    async with ctx.sessions() as s, s.begin():
        m = await merchants.get_merchant(s, shop.slug)
        key = await merchants.create_api_key(s, merchant=m, mode="test", scopes=scopes)
    return {"Authorization": f"Bearer {key.api_key}"}


async def test_configuration_needs_the_admin_scope(
    wclient: httpx.AsyncClient, shop: MerchantKeys, wctx: AppContext
) -> None:
    created = await add_endpoint(wclient, shop, "https://shop.example/scoped")
    eid = created["id"]
    calls = [
        ("POST", BASE, {"url": "https://shop.example/x"}),
        ("GET", BASE, None),
        ("GET", f"{BASE}/{eid}", None),
        ("PATCH", f"{BASE}/{eid}", {"enabled": False}),
        ("DELETE", f"{BASE}/{eid}", None),
        ("POST", f"{BASE}/{eid}/rotate-secret", None),
        ("POST", "/api/v1/webhooks/tests", {"endpoint_id": eid}),
        ("POST", "/api/v1/webhooks/deliveries/dlv_000000000000000000000000/retry", None),
    ]
    for scopes in (("read",), ("read", "write")):
        headers = await _key(wctx, shop, scopes)
        for method, url, body in calls:
            r = await wclient.request(method, url, headers=headers, json=body)
            assert r.status_code == 403, (scopes, method, url, r.text)
            assert r.json()["code"] == "INSUFFICIENT_SCOPE"
        assert (
            await wclient.get("/api/v1/webhooks/deliveries", headers=headers)
        ).status_code == 200
    for method, url, body in calls:
        r = await wclient.request(method, url, json=body)
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"
    assert (await wclient.get(f"{BASE}/{eid}", headers=shop.auth())).json()["enabled"] is True


async def test_another_merchant_or_mode_sees_404(
    wclient: httpx.AsyncClient, shop: MerchantKeys, wctx: AppContext
) -> None:
    mine = await add_endpoint(wclient, shop, "https://shop.example/mine")
    other = await create_merchant(wctx)
    eid = mine["id"]
    for headers in (other.auth(), shop.auth("live")):
        for method, url, body in [
            ("GET", f"{BASE}/{eid}", None),
            ("PATCH", f"{BASE}/{eid}", {"enabled": False}),
            ("DELETE", f"{BASE}/{eid}", None),
            ("POST", f"{BASE}/{eid}/rotate-secret", None),
            ("POST", "/api/v1/webhooks/tests", {"endpoint_id": eid}),
        ]:
            r = await wclient.request(method, url, headers=headers, json=body)
            assert r.status_code == 404, (method, url, r.text)
            assert r.json() == {
                "error": True,
                "message": "Webhook endpoint not found.",
                "code": "NOT_FOUND",
            }
        assert eid not in (await wclient.get(BASE, headers=headers)).text
    async with wctx.sessions() as s:
        row = await s.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == eid))
    assert row is not None and row.enabled and row.deleted_at is None


async def test_openapi_documents_every_webhook_route(wclient: httpx.AsyncClient) -> None:
    spec = (await wclient.get("/openapi.json")).json()
    routes = {
        ("post", BASE),
        ("get", BASE),
        ("get", BASE + "/{endpoint_id}"),
        ("patch", BASE + "/{endpoint_id}"),
        ("delete", BASE + "/{endpoint_id}"),
        ("post", BASE + "/{endpoint_id}/rotate-secret"),
        ("get", "/api/v1/webhooks/deliveries"),
        ("get", "/api/v1/webhooks/deliveries/{delivery_id}"),
        ("post", "/api/v1/webhooks/deliveries/{delivery_id}/retry"),
        ("post", "/api/v1/webhooks/tests"),
    }
    for method, path in routes:
        op = spec["paths"][path][method]
        assert op.get("summary") and op.get("description"), (method, path)
        assert any(code.startswith("4") for code in op["responses"]), (method, path)
