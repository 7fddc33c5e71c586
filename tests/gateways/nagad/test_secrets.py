"""The merchant's private key never reaches a log line, an error or a page: not on the
happy path, not when Nagad refuses or fails (when the executor logs the redacted request
and answer), not when the configuration is refused."""

from __future__ import annotations

import httpx
import pytest
from structlog.testing import capture_logs

from ownpay.gateways.base import ConfigInvalid, GatewayError
from tests.contract.harnesses.nagad import NagadHarness, callback_params
from tests.simulators.nagad import CREDENTIALS
from tests.support.factories import MerchantKeys
from tests.support.faults import on_standin
from tests.support.nagad import at_provider, new_payment, to_provider
from tests.support.standins import SimServer

KEY = CREDENTIALS["merchant_private_key"]
# Any 40-character run of the key's base64 body would be a leak.
NEEDLES = [line for line in KEY.splitlines() if len(line) >= 40][:6]


def _leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


@pytest.fixture
async def harness(sim_server: SimServer) -> NagadHarness:
    return on_standin(NagadHarness, sim_server)


async def test_no_private_key_in_logs_or_errors_when_nagad_fails(
    harness: NagadHarness, sim_server: SimServer,
) -> None:
    assert NEEDLES
    sim = sim_server.sim
    errors: list[str] = []
    with capture_logs() as logs:
        async with httpx.AsyncClient() as http:
            ctx = harness.context(http)
            for operation in ("initialize", "complete"):
                sim.refuse = {operation: ("InvalidMerchant", "refused")}
                with pytest.raises(GatewayError) as caught:
                    await harness.gateway.start_checkout(ctx, harness.payment())
                errors.append(str(caught.value))
            sim.refuse = {}
            [_, asked] = await harness.pay(ctx, harness.payment())
            sim.drop = {"verify"}
            with pytest.raises(GatewayError) as lost:
                await harness.gateway.query_status(ctx, harness.payment(
                    provider_reference=asked.provider_reference))
            errors.append(str(lost.value))
            sim.drop = {"refund"}
            paid = await harness.paid_payment(ctx)
            lost_refund = await harness.gateway.refund(ctx, paid, amount_minor=100,
                                                       refund_id="rf_leak", reason="x")
            errors.append(lost_refund.reason or "")
            sim.drop = set()
    warned = [line for line in logs if line.get("log_level") == "warning"]
    assert warned, "the failures above are logged with their redacted bodies"
    assert _leaks(repr(logs)) == []
    assert _leaks(" ".join(errors)) == []
    assert "[redacted]" in repr(warned)


def test_a_refused_configuration_does_not_repeat_the_key() -> None:
    from ownpay.gateways.nagad.adapter import ADAPTER

    with pytest.raises(ConfigInvalid) as caught:
        ADAPTER.validate_config({**CREDENTIALS, "merchant_private_key": KEY[:-80]}, {})
    assert _leaks(str(caught.value)) == [] and _leaks(repr(caught.value.errors)) == []


async def test_no_private_key_on_the_pages(
    customer: httpx.AsyncClient, browser_http: httpx.AsyncClient, shop: MerchantKeys,
    sim_server: SimServer,
) -> None:
    txn = await new_payment(customer, shop)
    page = await to_provider(customer, txn)
    back = await at_provider(browser_http, page)
    params = {k: v for k, v in callback_params(back).items() if k != "return_token"}
    done = await customer.get(back.removeprefix("http://pay.test").split("?")[0],
                              params=params, follow_redirects=False)
    status = await customer.get(f"/checkout/{txn}")
    refused = await new_payment(customer, shop)
    sim_server.sim.refuse = {"initialize": ("InvalidMerchant", "refused")}
    unavailable = await customer.get(f"/checkout/{refused}")
    for r in (done, status, unavailable):
        assert _leaks(r.text) == [] and _leaks(str(r.headers)) == []
