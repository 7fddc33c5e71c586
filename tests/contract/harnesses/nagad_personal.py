"""``nagad_personal``: a personal-wallet gateway (tests/support/personal_wallets.py)."""

from __future__ import annotations

from tests.support.personal_wallets import PersonalHarness


class Harness(PersonalHarness):
    slug = "nagad_personal"


HARNESS = Harness
