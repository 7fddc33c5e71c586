"""PayPal end-to-end fixtures: the stand-in (``tests/simulators/paypal.py``) on a loopback
port and a merchant whose ``paypal`` gateway (test mode) points at it; our app (a short provider
timeout) and the customer are ``tests/gateways/conftest.py``'s.
The steps its tests share are ``tests/support/paypal.py``'s."""

from __future__ import annotations

from tests.simulators.paypal import create_app as create_simulator
from tests.support.paypal import CREDENTIALS
from tests.support.standins import shop_fixture, standin_fixture

sim_server = standin_fixture(create_simulator)
shop = shop_fixture("paypal", CREDENTIALS)
