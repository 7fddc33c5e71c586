"""SSLCommerz end-to-end fixtures: the stand-in (``tests/simulators/sslcommerz.py``) on a
loopback port and a merchant whose ``sslcommerz`` gateway (test mode) points at it; our app
and the customer are ``tests/gateways/conftest.py``'s.
The steps its tests share are ``tests/support/sslcommerz.py``'s."""

from __future__ import annotations

from tests.simulators.sslcommerz import create_app as create_simulator
from tests.support.sslcommerz import CREDENTIALS
from tests.support.standins import shop_fixture, standin_fixture

sim_server = standin_fixture(create_simulator)
shop = shop_fixture("sslcommerz", CREDENTIALS)
