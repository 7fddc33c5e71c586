"""Razorpay end-to-end fixtures: the stand-in (``tests/simulators/razorpay.py``) on a
loopback port and a merchant whose ``razorpay`` gateway (test mode) points at it (API and
Checkout.js); our app (short provider timeout) and the customer are
``tests/gateways/conftest.py``'s.
The steps its tests share are ``tests/support/razorpay.py``'s."""

from __future__ import annotations

from tests.simulators.razorpay import create_app as create_simulator
from tests.support.razorpay import CREDENTIALS
from tests.support.standins import shop_fixture, standin_fixture

sim_server = standin_fixture(create_simulator)
shop = shop_fixture("razorpay", CREDENTIALS, lambda url: {
    "base_url": url, "checkout_js_url": f"{url}/v1/checkout.js"})
