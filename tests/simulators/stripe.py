"""localstripe (the Stripe stand-in) with the few patches these tests need.

Run as a script: ``python tests/simulators/stripe.py --port N --state FILE``.
``stripe_process.LocalStripe`` (the gateway conformance battery) and the ``standin`` fixture of
the Stripe tests start it on a free loopback port and stop it afterwards.

Each patch closes a gap between localstripe 1.15 and what stripe-python 16 / Stripe.js do;
none changes how localstripe decides an outcome:

1. **State file.**  localstripe pickles its store to the fixed path
   ``/tmp/localstripe.pickle``.  Here every stand-in has its own file (``--state``), so runs
   never share state, and a restart (the outage test) resumes where the stand-in stopped.
2. **PaymentIntent create parameters.**  SDK 16 pins API version 2026-10-28, where a
   PaymentIntent takes ``allowed_payment_method_types`` (``payment_method_types`` is refused
   since 2026-09-30) and a ``description``; localstripe rejects both as "Unexpected".  The
   description is stored; the allowed types go to localstripe's ``payment_method_types``.
3. **Card confirmation from the browser.**  Real Stripe.js confirms a PaymentIntent with the
   publishable key, the client secret and the card; localstripe's Stripe.js mock cannot (its
   ``confirmCardPayment`` only finishes 3-D Secure for an intent that already has a card).
   ``/js.stripe.com/v3/ownpay/`` serves localstripe's own mock plus ``stripe_js_extension.js``,
   whose ``confirmCardPayment`` posts the card to ``/js.stripe.com/v3/_confirm/{id}``; that
   route checks the key and client secret and runs localstripe's own confirm.
4. **Declines.**  Real Stripe declines 4000000000000002 (and the other "declined" test cards)
   when charging; localstripe only when attaching them to a customer.
5. **Asynchronous settlement.**  Real SEPA debits stay ``processing`` until the bank settles;
   localstripe marks the charge succeeded at once and only delays the webhook.  Here the
   charge stays pending until it settles, and ``POST /_config/ownpay/hold`` / ``release``
   hold and release settlements, so a test observes ``processing`` deterministically.
6. **Idempotency keys.**  Real Stripe answers a repeated ``POST`` with the same
   ``Idempotency-Key`` with its first answer (header ``Idempotent-Replayed: true``) instead of
   acting twice, refuses the key with other parameters (``idempotency_error``) and answers
   409 while the first request is still running; localstripe ignores the header.  Here
   successful answers are kept per key for the stand-in's lifetime, so "a refund sent twice
   with the same refund id moves money once" can be observed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import localstripe.resources as resources
from aiohttp import web
from localstripe import server
from localstripe.errors import UserError

EXTENSION_JS = Path(__file__).with_name("stripe_js_extension.js")
MOCK_JS = Path(server.__file__).with_name("localstripe-v3.js")


def patch_state_file(path: Path) -> None:
    def load(store: resources.Store) -> None:
        try:
            with open(path, "rb") as f:
                old = pickle.load(f)  # noqa: S301 - our own file
        except FileNotFoundError:
            return
        store.clear()
        store.update(old)

    def dump(store: resources.Store) -> None:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump


def patch_payment_intent_params() -> None:
    original = resources.PaymentIntent.__init__

    def init(self: Any, *args: Any, description: str | None = None,
             allowed_payment_method_types: list[str] | None = None, **kwargs: Any) -> None:
        if allowed_payment_method_types is not None:
            kwargs.setdefault("payment_method_types", allowed_payment_method_types)
        original(self, *args, **kwargs)
        self.description = description

    resources.PaymentIntent.__init__ = init


def patch_declines() -> None:
    original = resources.PaymentMethod._charging_is_declined

    def declined(self: Any) -> bool:
        return bool(original(self) or self._attaching_is_declined())

    resources.PaymentMethod._charging_is_declined = declined


_settle = asyncio.Event()


class _GatedAsyncio:
    """localstripe's ``asyncio`` as its resources see it: settlements wait for the gate."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        await _settle.wait()
        return await asyncio.sleep(delay, result)


def patch_async_settlement() -> None:
    original = resources.Charge._initialize_charge

    def initialize(self: Any, on_success: Any = None, on_failure_now: Any = None,
                   on_failure_later: Any = None) -> None:
        if self._authorized and self.captured and self._is_async_payment_method():
            self._trigger_payment(on_success)  # stays "pending" until the bank settles
            return
        original(self, on_success, on_failure_now, on_failure_later)

    resources.Charge._initialize_charge = initialize
    resources.asyncio = _GatedAsyncio()
    _settle.set()


_replies: dict[str, tuple[str, bytes, int, bytes]] = {}  # key -> (path, body, status, answer)
_in_flight: set[str] = set()


def _idempotency_error(status: int, message: str) -> web.Response:
    return server.json_response(
        {"error": {"type": "idempotency_error", "message": message}}, status=status
    )


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        return await handler(request)
    body = await request.read()
    seen = _replies.get(key)
    if seen is not None:
        path, sent, status, answer = seen
        if (path, sent) != (request.path, body):
            return _idempotency_error(
                400, "Keys for idempotent requests can only be used with the same parameters "
                     "they were first used with.")
        return web.Response(status=status, body=answer, content_type="application/json",
                            headers={"Idempotent-Replayed": "true", "Idempotency-Key": key})
    if key in _in_flight:
        return _idempotency_error(409, "There is currently another in-progress request "
                                       "using this idempotency key.")
    _in_flight.add(key)
    try:
        response = await handler(request)
    finally:
        _in_flight.discard(key)
    if isinstance(response, web.Response) and response.status < 400 and response.body:
        answer = response.body if isinstance(response.body, bytes) else bytes(response.text or "",
                                                                                "utf-8")
        _replies[key] = (request.path, body, response.status, answer)
    return response


def patch_idempotency() -> None:
    # Innermost: after authentication, and before the store is saved.
    server.app.middlewares.append(idempotency_middleware)


async def serve_mock_js(request: web.Request) -> web.Response:
    text = MOCK_JS.read_text() + "\n" + EXTENSION_JS.read_text()
    return web.Response(text=text, content_type="application/javascript")


async def confirm_card(request: web.Request) -> web.Response:
    """What Stripe.js's confirmCardPayment does at Stripe, on localstripe's objects."""
    data = await server.get_post_data(request, remove_auth=False) or {}
    key, secret = data.get("key"), data.get("client_secret")
    if not isinstance(key, str) or not key.startswith("pk_"):
        raise UserError(401, "Unauthorized")
    intent = resources.PaymentIntent._api_retrieve(request.match_info["id"])
    if secret != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        raise UserError(400, f"This PaymentIntent's status is {intent.status}.",
                        {"code": "payment_intent_unexpected_state"})
    card = data.get("card")
    if not isinstance(card, dict):
        raise UserError(400, "Missing card details.")
    billing = data.get("billing_details")
    method = resources.PaymentMethod(
        type="card",
        card={k: card.get(k) for k in ("number", "exp_month", "exp_year", "cvc")},
        billing_details=billing if isinstance(billing, dict) else None,
    )
    if intent.latest_charge is not None and intent.latest_charge.status == "failed":
        intent.latest_charge = None  # a new attempt after a decline, as on Stripe
    intent.payment_method = method.id
    intent._confirm(on_failure_now=intent._report_failure)
    return server.json_response(intent._export())


async def hold(request: web.Request) -> web.Response:
    _settle.clear()
    return web.Response()


async def release(request: web.Request) -> web.Response:
    _settle.set()
    return web.Response()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args()
    patch_state_file(args.state)
    patch_payment_intent_params()
    patch_declines()
    patch_async_settlement()
    patch_idempotency()
    server.app.router.add_get("/js.stripe.com/v3/ownpay/", serve_mock_js)
    server.app.router.add_post("/js.stripe.com/v3/_confirm/{id}", confirm_card)
    server.app.router.add_post("/_config/ownpay/hold", hold)
    server.app.router.add_post("/_config/ownpay/release", release)
    sys.argv = [sys.argv[0], "--port", str(args.port)]
    server.start()


if __name__ == "__main__":
    main()
