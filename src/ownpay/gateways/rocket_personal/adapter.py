"""``rocket_personal``: the personal-wallet gateway for rocket (:mod:`ownpay.gateways.personal`;
its formats and steps are ``mapping``)."""

from __future__ import annotations

from pathlib import Path

from ownpay.gateways.personal import PersonalWallet
from ownpay.gateways.rocket_personal.mapping import SPEC


class RocketPersonal(PersonalWallet):
    spec = SPEC
    templates = Path(__file__).parent / "templates"


ADAPTER = RocketPersonal()
