"""``bkash_personal``: the personal-wallet gateway for bkash (:mod:`ownpay.gateways.personal`;
its formats and steps are ``mapping``)."""

from __future__ import annotations

from pathlib import Path

from ownpay.gateways.bkash_personal.mapping import SPEC
from ownpay.gateways.personal import PersonalWallet


class BkashPersonal(PersonalWallet):
    spec = SPEC
    templates = Path(__file__).parent / "templates"


ADAPTER = BkashPersonal()
