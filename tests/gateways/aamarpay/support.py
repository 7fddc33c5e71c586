"""The steps of an aamarPay payment against the stand-in (tests only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.simulators.aamarpay import SIGNATURE_KEY, STORE_ID, AamarpaySimulator
from tests.support.factories import MerchantKeys
from tests.support.standins import bdt_intent, create_payment, to_hosted_page

CREDENTIALS = {"store_id": STORE_ID, "signature_key": SIGNATURE_KEY}
_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)">')


@dataclass
class Stand:
    app: FastAPI
    url: str

    @property
    def sim(self) -> AamarpaySimulator:
        sim: AamarpaySimulator = self.app.state.sim
        return sim


def intent(**overrides: Any) -> dict[str, Any]:
    return bdt_intent("aamarpay", overrides)


async def new_payment(customer: httpx.AsyncClient, merchant: MerchantKeys,
                      **overrides: Any) -> str:
    return await create_payment(customer, merchant, intent(**overrides))


to_aamarpay = to_hosted_page  # our checkout redirects to aamarPay's hosted page


async def act_at_aamarpay(browser: httpx.AsyncClient, payment_url: str,
                          choice: str) -> tuple[str, dict[str, str]]:
    """Press Pay / Fail / Cancel on the hosted page; the auto-posting form's target URL and
    the fields aamarPay's page would post there."""
    page = await browser.get(payment_url)
    assert page.status_code == 200, page.text
    track = payment_url.split("track=", 1)[1]
    base = payment_url.split("/paynow.php", 1)[0]
    done = await browser.post(f"{base}/paynow.php/act", data={"track": track, "choice": choice})
    assert done.status_code == 200, done.text
    action = _ACTION.search(done.text)
    assert action is not None, done.text
    fields = {k: v for k, v in _FIELD.findall(done.text)}
    return action.group(1).replace("&amp;", "&"), fields


def local(url: str) -> str:
    """Our return URL as a path on the in-process app (``http://pay.test/...``)."""
    assert url.startswith("http://pay.test/"), url
    return url.removeprefix("http://pay.test")
