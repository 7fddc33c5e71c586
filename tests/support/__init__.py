"""Helpers shared by the test suite, one module per role (fixtures live in ``conftest.py``
files and only there):

* ``artifacts`` -- the checkout's root, ``test-output/`` and per-test artifact names.
* ``ports`` -- free loopback ports, disjoint between pytest-xdist workers.
* ``settings`` -- :class:`ownpay.config.Settings` for tests.
* ``databases`` -- the engines under test, throw-away PostgreSQL databases, ``isolated``.
* ``factories`` -- merchants with keys, intent bodies, objects made through the API.
* ``routes`` -- every ``/api/`` route of the app with the scope it demands.
* ``checkout`` -- paying through the hosted checkout, reading and refunding through the API.
* ``records`` -- what the database holds about a payment, and waiting for it to change.
* ``metrics`` -- reading Prometheus text.
* ``processes`` -- real ``ownpay serve`` / ``ownpay worker`` processes.
* ``commands`` -- the ``ownpay`` command line, in-process (Typer's runner) or as a process.
* ``receivers`` -- a webhook receiver on loopback.
* ``webhooks`` -- contexts, endpoints and worker steps for webhook tests.
* ``fake_gateways`` -- scripted provider stand-ins for refund fault tests.
* ``stripe`` (+ ``stripe_standin.py``) -- localstripe as Stripe, and Stripe-side helpers.
* ``bkash`` -- the bKash simulator on loopback and the steps of a bKash payment.
* ``browser`` -- Chromium for Playwright, the merchant's website, screenshots.
* ``transactions`` -- a seeded set of payments and its oracle for transaction queries.
* ``markers`` -- the layer markers derived from what a test uses.
"""
