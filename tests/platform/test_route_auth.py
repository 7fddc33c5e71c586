"""Authentication, scope and tenant failure cases for every ``/api/`` route, generated.

The cases are derived from the application itself, so a route added later is covered the
moment it is mounted: every route under ``/api/`` (except the health check) is enumerated
from ``app.routes`` (through FastAPI's ``iter_route_contexts``, which also walks included
routers) and its required scope is read from its dependencies -- the
``merchants.auth.require_scope(scope)`` dependency -- never from a hand-written list.

For every method and path:

* no ``Authorization`` header, a malformed header or key, an unknown key and a revoked key
  are each a 401 ``UNAUTHENTICATED`` in the error envelope;
* a key with every scope except the one the route needs is a 403 ``INSUFFICIENT_SCOPE``,
  and a key with exactly the needed scope gets past authorisation (a positive control, so
  the derived scope is proven to be the right one);
* a route that takes an object id in its path answers another merchant's object, and the
  other mode's object of the same merchant, with the very same 404 as a random well-formed
  id that does not exist -- never 403, never data -- while the owner gets past the lookup;
* list routes never show another merchant's or the other mode's objects.

Objects are made through the API by a factory per path-parameter name (``OBJECT_FACTORIES``).
A new kind of object id needs a factory (in ``tests/support/factories.py``, named here);
``test_every_object_route_has_a_factory`` fails with the route's name until it has one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ownpay.context import AppContext
from ownpay.merchants import service as merchants
from ownpay.merchants.service import SCOPES
from tests.support.factories import (
    MerchantKeys,
    create_merchant,
    make_customer,
    make_delivery,
    make_device,
    make_domain,
    make_endpoint,
    make_intent,
    make_invoice,
    make_link,
    make_payment,
    make_refund,
)
from tests.support.routes import ROUTES, RouteCase

BODY_METHODS = {"POST", "PUT", "PATCH"}

# ---- the routes, from the application (tests/support/routes.py) ----------------------------

# The Bearer routes.  Routes whose key travels in a facade's own header (UddoktaPay's,
# PipraPay's) answer auth failures in that product's shape and status (PipraPay: 400 for
# everything); their 401/403/tenant cases are in tests/compat/test_uddoktapay_api.py and
# test_piprapay_api.py, and test_keyed_routes_are_all_covered keeps that list honest.
PROTECTED = [r for r in ROUTES if r.scopes and r.key_header == "authorization"]
KEYED = [r for r in ROUTES if r.scopes and r.key_header != "authorization"]
WITH_IDS = [r for r in PROTECTED if r.path_params]
LISTS = [r for r in PROTECTED if r.method == "GET" and not r.path_params]


def by_id(cases: Iterable[RouteCase]) -> Any:
    return pytest.mark.parametrize("case", list(cases), ids=lambda c: c.id)


# ---- objects of a merchant, made through the API (tests/support/factories.py) -------------

Factory = Callable[[httpx.AsyncClient, AppContext, MerchantKeys], Awaitable[str]]


OBJECT_FACTORIES: dict[str, Factory] = {
    "transaction_id": make_intent,
    "payment_id": make_payment,
    "endpoint_id": make_endpoint,
    "delivery_id": make_delivery,
    "refund_id": make_refund,
    "link_id": make_link,
    "customer_id": make_customer,
    "invoice_id": make_invoice,
    "device_id": make_device,
    "domain_id": make_domain,
}
# Objects of the brand rather than of a mode (a domain serves test and live checkouts): the
# owner's other-mode key sees them; another merchant's keys of both modes still get 404.
BRAND_WIDE = {"domain_id"}
BRAND_WIDE_LISTS = {"/api/v1/domains"}
# Routes that take another object's id in the JSON body: (method, path) -> {field: factory}.
BODY_ID_ROUTES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/api/v1/webhooks/tests"): {"endpoint_id": "endpoint_id"},
    ("POST", "/api/v1/refunds"): {"transaction_id": "transaction_id"},
}
WITH_BODY_IDS = [r for r in PROTECTED if (r.method, r.path) in BODY_ID_ROUTES]
# A valid body for routes that validate it before looking the object up (default: {}).
SAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): {"description": "tenant probe"},
}


def random_like(object_id: str) -> str:
    """A well-formed id that names nothing: the same shape with fresh random characters."""
    prefix, sep, tail = object_id.rpartition("_")
    fresh = "".join(
        secrets.choice("0123456789abcdef" if c in "0123456789abcdef" else "0123456789")
        if c.isalnum() else c
        for c in tail
    )
    return f"{prefix}{sep}{fresh}"


# ---- keys ----------------------------------------------------------------------------------


@dataclass
class Keys:
    """One merchant's keys: full ones per mode plus test-mode keys with chosen scopes."""

    merchant: MerchantKeys
    scoped: dict[frozenset[str], str] = field(default_factory=dict)
    revoked: str = ""

    def full(self, mode: str = "test") -> dict[str, str]:
        return self.merchant.auth(mode)

    def only(self, scopes: Iterable[str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.scoped[frozenset(scopes)]}"}


async def _keys_for(ctx: AppContext, *, with_scoped: bool) -> Keys:
    merchant = await create_merchant(ctx)
    keys = Keys(merchant=merchant)
    if not with_scoped:
        return keys
    combos = {frozenset(c) for r in PROTECTED for c in (r.scopes, set(SCOPES) - {*r.scopes})}
    combos |= {frozenset(set(SCOPES) - {s}) for s in SCOPES}
    async with ctx.sessions() as s, s.begin():
        row = await merchants.get_merchant(s, merchant.slug)
        for combo in combos:
            if combo:
                made = await merchants.create_api_key(
                    s, merchant=row, mode="test", scopes=tuple(sorted(combo)))
                keys.scoped[combo] = made.api_key
        revoked = await merchants.create_api_key(s, merchant=row, mode="test")
        await merchants.revoke_api_key(s, key_id=revoked.id)
    keys.revoked = revoked.api_key
    ctx.api_keys.invalidate()
    return keys


@pytest.fixture
async def keys(ctx: AppContext) -> Keys:
    return await _keys_for(ctx, with_scoped=True)


@pytest.fixture
async def stranger(ctx: AppContext) -> Keys:
    """Another merchant, with every scope in both modes."""
    return await _keys_for(ctx, with_scoped=False)


# ---- requests and answers ------------------------------------------------------------------


def placeholders(case: RouteCase) -> dict[str, str]:
    """Path values for requests that must fail before any lookup (auth, scope)."""
    return {p: f"x_{secrets.token_hex(8)}" for p in case.path_params}


async def send(
    client: httpx.AsyncClient,
    case: RouteCase,
    values: dict[str, str],
    headers: Mapping[str, str | bytes],
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    extra: dict[str, Any] = {}
    if case.method in BODY_METHODS:
        sample = SAMPLE_BODIES.get((case.method, case.path), {})
        extra["json"] = body if body is not None else sample
    raw = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in headers.items()}
    return await client.request(case.method, case.url(values), headers=raw, **extra)


# A compatibility facade's code for one of ours, where it has its own (compat/ownpay_api.py).
FACADE_CODES = {"NOT_FOUND": "PAYMENT_NOT_FOUND"}


def assert_error(r: httpx.Response, status: int, code: str, what: str) -> dict[str, Any]:
    assert r.status_code == status, f"{what}: {r.status_code} {r.text}"
    body: dict[str, Any] = r.json()
    if "success" in body:  # the OwnPay merchant API's envelope, on its own routes
        assert body["success"] is False, f"{what}: {body}"
        assert body["errors"][0]["code"] == FACADE_CODES.get(code, code), f"{what}: {body}"
        assert isinstance(body["error"], str) and body["error"], f"{what}: {body}"
        assert set(body) == {"success", "error", "errors", "request_id"}, f"{what}: {body}"
        return {"message": body["error"]}
    assert body.get("error") is True and body.get("code") == code, f"{what}: {body}"
    assert isinstance(body.get("message"), str) and body["message"], f"{what}: {body}"
    assert set(body) <= {"error", "message", "code", "errors"}, f"{what}: {body}"
    return body


def masked(r: httpx.Response, *ids: str) -> str:
    text = re.sub(r'"request_id":"[0-9a-f]+"', '"request_id":"<request>"', r.text)
    for object_id in ids:
        text = text.replace(object_id, "<id>")
    return text


MALFORMED_HEADERS: list[str | bytes] = [
    "Bearer",
    "Bearer ",
    "Basic b3BfdGVzdF94eHg6",
    "Token op_test_abcdefghijklmnopqrstuvwxyz234567abcdefg",
    "Bearer op_test_short",
    "Bearer op_prod_abcdefghijklmnopqrstuvwxyz234567abcdefg",
    "Bearer sk_live_abcdefghijklmnopqrstuvwxyz234567",
    "Bearer op_test_abc def",
    ("Bearer op_test_" + "é" * 39).encode(),  # UTF-8 bytes on the wire
]


# ---- the generated cases -------------------------------------------------------------------


def test_routes_are_enumerated_and_every_protected_route_demands_a_scope() -> None:
    paths = {r.path for r in ROUTES}
    # The enumeration sees the routers' routes, not just the app's own.
    assert {"/api/v1/payment-intents", "/api/v1/payment-intents/{transaction_id}"} <= paths
    unprotected = [r.id for r in ROUTES if not r.scopes]
    assert unprotected == [], (
        f"routes under /api/ without a require_scope dependency: {unprotected}; "
        "add one, or list the route in PUBLIC_ROUTES if it is meant to be public"
    )
    assert all(r.scopes <= set(SCOPES) for r in ROUTES)


def test_keyed_routes_are_all_covered() -> None:
    """Every route keyed by another header is one of the facades' routes their own tests
    drive through every auth case; a new one must be added there (and here)."""
    covered = {
        ("POST", "/api/checkout-v2", "rt-uddoktapay-api-key"),
        ("POST", "/api/checkout-v2/global", "rt-uddoktapay-api-key"),
        ("POST", "/api/verify-payment", "rt-uddoktapay-api-key"),
        ("POST", "/api/refund-payment", "rt-uddoktapay-api-key"),
        ("POST", "/api/create-charge", "mh-piprapay-api-key"),
        ("POST", "/api/verify-payments", "mh-piprapay-api-key"),
    }
    assert {(r.method, r.path, r.key_header.lower()) for r in KEYED} == covered


def test_every_object_route_has_a_factory() -> None:
    missing = sorted({f"{p} (in {r.id})" for r in WITH_IDS for p in r.path_params
                      if p not in OBJECT_FACTORIES})
    assert missing == [], (
        f"path parameters without an object factory: {missing}; add one to OBJECT_FACTORIES "
        "in tests/platform/test_route_auth.py so the tenant cases cover the route"
    )


@by_id(PROTECTED)
async def test_missing_key_is_401(client: httpx.AsyncClient, case: RouteCase) -> None:
    r = await send(client, case, placeholders(case), {})
    assert_error(r, 401, "UNAUTHENTICATED", "no Authorization header")
    assert r.headers.get("www-authenticate") == "Bearer"


@by_id(PROTECTED)
async def test_malformed_unknown_or_revoked_key_is_401(
    client: httpx.AsyncClient, keys: Keys, case: RouteCase
) -> None:
    values = placeholders(case)
    for header in MALFORMED_HEADERS:
        r = await send(client, case, values, {"Authorization": header})
        assert_error(r, 401, "UNAUTHENTICATED", f"Authorization: {header!r}")
    real = keys.merchant.test_key
    unknown = "op_test_" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567")
                                   for _ in range(len(real) - len("op_test_")))
    for header, what in [
        (f"Bearer {unknown}", "a well-formed key that does not exist"),
        ("Bearer op_live_" + real[len("op_test_"):], "a test key's body under the live prefix"),
        (f"Bearer {keys.revoked}", "a revoked key"),
    ]:
        r = await send(client, case, values, {"Authorization": header})
        body = assert_error(r, 401, "UNAUTHENTICATED", what)
        assert real not in r.text and keys.revoked not in body["message"]


@by_id(PROTECTED)
async def test_key_without_the_routes_scope_is_403(
    client: httpx.AsyncClient, keys: Keys, case: RouteCase
) -> None:
    values = placeholders(case)
    for scope in sorted(case.scopes):
        r = await send(client, case, values, keys.only(set(SCOPES) - {scope}))
        body = assert_error(r, 403, "INSUFFICIENT_SCOPE", f"key without {scope!r}")
        assert f"'{scope}'" in body["message"]
    # Positive control: exactly the derived scopes get past authorisation.
    r = await send(client, case, values, keys.only(case.scopes))
    assert r.status_code not in (401, 403), f"with {sorted(case.scopes)}: {r.status_code} {r.text}"


@by_id(WITH_IDS)
async def test_other_merchants_and_other_modes_objects_are_404(
    client: httpx.AsyncClient, ctx: AppContext, keys: Keys, stranger: Keys, case: RouteCase
) -> None:
    if any(p not in OBJECT_FACTORIES for p in case.path_params):
        pytest.fail(f"no object factory for {case.path_params} (see the factory test)")
    owner = keys.merchant
    values = {p: await OBJECT_FACTORIES[p](client, ctx, owner) for p in case.path_params}
    nothing = {p: random_like(v) for p, v in values.items()}
    ids = (*values.values(), *nothing.values())

    baseline = await send(client, case, nothing, keys.full("test"))
    assert_error(baseline, 404, "NOT_FOUND", "a random well-formed id (if the route validates "
                 "its body before the lookup, add a valid body to SAMPLE_BODIES)")
    brand_wide = set(case.path_params) <= BRAND_WIDE
    for headers, who in [(stranger.full("test"), "another merchant's test key"),
                         (stranger.full("live"), "another merchant's live key"),
                         (keys.full("live"), "the owner's live key (other mode)")]:
        if brand_wide and headers == keys.full("live"):
            continue  # the brand's own object: checked below with the owner's keys
        r = await send(client, case, values, headers)
        assert_error(r, 404, "NOT_FOUND", who)
        assert masked(r, *ids) == masked(baseline, *ids), f"{who} learns more than 'not found'"
    # The owner (right merchant, right mode) gets past the lookup: the ids were real.
    r = await send(client, case, values, keys.full("test"))
    assert r.status_code not in (401, 403, 404), f"owner: {r.status_code} {r.text}"


@by_id(WITH_BODY_IDS)
async def test_other_merchants_ids_in_the_body_are_404(
    client: httpx.AsyncClient, ctx: AppContext, keys: Keys, stranger: Keys, case: RouteCase
) -> None:
    fields = BODY_ID_ROUTES[(case.method, case.path)]
    body = {name: await OBJECT_FACTORIES[kind](client, ctx, keys.merchant)
            for name, kind in fields.items()}
    for headers, who in [(stranger.full("test"), "another merchant"),
                         (keys.full("live"), "the other mode")]:
        r = await send(client, case, {}, headers, body)
        assert_error(r, 404, "NOT_FOUND", who)


@by_id(LISTS)
async def test_lists_never_show_other_merchants_or_modes_objects(
    client: httpx.AsyncClient, ctx: AppContext, keys: Keys, stranger: Keys, case: RouteCase
) -> None:
    owner = keys.merchant
    delivery = await make_delivery(client, ctx, owner)  # also an endpoint and an intent
    owned = await send(client, case, {}, keys.full("test"))
    assert owned.status_code == 200, owned.text
    # Every object id the owner can see (txn_, we_, dlv_, evt_, rf_, … and future kinds).
    ids = set(re.findall(r"\b[a-z]{2,5}_[0-9a-f]{12,}\b", owned.text)) | {delivery}
    assert delivery in ids and len(ids) >= 1
    for headers, who in [(stranger.full("test"), "another merchant"),
                         (keys.full("live"), "the other mode")]:
        if case.path in BRAND_WIDE_LISTS and headers == keys.full("live"):
            continue  # the brand's own objects, in either mode (BRAND_WIDE)
        r = await send(client, case, {}, headers)
        assert r.status_code == 200, f"{who}: {r.status_code} {r.text}"
        leaked = sorted(i for i in ids if i in r.text)
        assert leaked == [], f"{who} sees the owner's objects: {leaked}"
