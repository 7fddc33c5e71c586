"""The brand-domain tests' DNS: a real server on loopback (``tests/support/dns.py``) that
the session's context asks, with this installation's public address 203.0.113.7."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.dns import PUBLIC_IP, Zone, dns_server


@pytest.fixture
def zone(ctx: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Zone]:
    with dns_server() as (found, address):
        settings = dataclasses.replace(ctx.settings, public_addresses=(PUBLIC_IP,),
                                       dns_nameservers=(address,), dns_timeout=0.5)
        monkeypatch.setattr(ctx, "settings", settings)
        ctx.brand_hosts.invalidate()
        yield found
        ctx.brand_hosts.invalidate()
