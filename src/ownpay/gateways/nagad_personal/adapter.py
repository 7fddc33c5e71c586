"""``nagad_personal``: the personal-wallet gateway for nagad (:mod:`ownpay.gateways.personal`;
its formats and steps are ``mapping``)."""

from __future__ import annotations

from pathlib import Path

from ownpay.gateways.nagad_personal.mapping import SPEC
from ownpay.gateways.personal import PersonalWallet


class NagadPersonal(PersonalWallet):
    spec = SPEC
    templates = Path(__file__).parent / "templates"


ADAPTER = NagadPersonal()
