"""Nagad end-to-end fixtures: the stand-in (``tests/simulators/nagad.py``) on a loopback
port and a merchant whose ``nagad`` gateway (test mode) points at it; our app and the
customer are ``tests/gateways/conftest.py``'s.
The steps its tests share are ``tests/support/nagad.py``'s."""

from __future__ import annotations

from tests.simulators.nagad import CREDENTIALS
from tests.simulators.nagad import create_app as create_simulator
from tests.support.standins import shop_fixture, standin_fixture

sim_server = standin_fixture(create_simulator)
shop = shop_fixture("nagad", CREDENTIALS)
