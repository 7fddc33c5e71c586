"""aamarPay end-to-end fixtures: the stand-in (``tests/simulators/aamarpay.py``) on a
loopback port inside the test's loop, and a merchant whose ``aamarpay`` gateway (test mode)
points at it; our app (provider timeout ``PROVIDER_TIMEOUT``, so "aamarPay timed out" takes
seconds), the customer and the plain client for the hosted page (``browser_http``) are
``tests/gateways/conftest.py``'s."""

from __future__ import annotations

from tests.gateways.aamarpay.support import CREDENTIALS
from tests.simulators.aamarpay import create_app as create_simulator
from tests.support.standins import shop_fixture, standin_fixture

sim_server = standin_fixture(create_simulator)
shop = shop_fixture("aamarpay", CREDENTIALS)
