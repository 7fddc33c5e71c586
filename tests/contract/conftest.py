"""The gateway conformance battery's fixtures and parametrisation.

Every test that takes ``harness`` (or ``harness_class``, or ``converter``) runs once per
gateway in the registry; ``tamper`` and ``probe`` (with ``prober``, its harness class) add
one case per tampering / status enum the harness declares.  Stand-ins start once per
session.  ``http`` is the provider HTTP client the adapters get: it fails the test if any
request did not go through the provider executor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.contract.harnesses.base import Harness
from tests.support.contract import HARNESSES, ProviderTraffic, provider_client, registered


def _class(slug: str) -> type[Harness]:
    if slug not in HARNESSES:
        pytest.fail(f"gateway {slug!r} has no harness: add tests/contract/harnesses/{slug}.py")
    return HARNESSES[slug]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if "tamper" in names:
        cases = [(slug, t) for slug in registered() if slug in HARNESSES
                 for t in HARNESSES[slug].tamperings]
        metafunc.parametrize(("harness", "tamper"), cases, indirect=["harness"],
                             ids=[f"{s}-{t}" for s, t in cases])
    elif "probe" in names:
        cases = [(HARNESSES[slug], i) for slug in registered() if slug in HARNESSES
                 for i in range(len(HARNESSES[slug].probes))]
        metafunc.parametrize(
            ("prober", "probe"),
            [(cls, cls.probes[i]) for cls, i in cases],
            ids=[f"{cls.slug}-{cls.probes[i].statuses.__name__}-{i}" for cls, i in cases],
        )
    elif "converter" in names:  # a plain value, not a fixture: hypothesis draws around it
        metafunc.parametrize("converter", [_class(s) for s in registered() if s in HARNESSES],
                             ids=[s for s in registered() if s in HARNESSES])
    elif "harness" in names:
        metafunc.parametrize("harness", registered(), indirect=True)
    elif "harness_class" in names:
        metafunc.parametrize("harness_class", registered(), indirect=True)


@pytest.fixture
def harness_class(request: pytest.FixtureRequest) -> type[Harness]:
    """The gateway's harness class (checks that need no stand-in)."""
    value = request.param
    return value if isinstance(value, type) else _class(str(value))


_started: dict[str, Harness] = {}


@pytest.fixture(scope="session")
async def _stand_ins() -> AsyncIterator[dict[str, Harness]]:
    try:
        yield _started
    finally:
        for harness in _started.values():
            await harness.stop()


@pytest.fixture
async def harness(request: pytest.FixtureRequest, _stand_ins: dict[str, Harness]) -> Harness:
    """The gateway's harness, its stand-in started (once per session)."""
    slug = str(request.param)
    if slug not in _stand_ins:
        started = _class(slug)()
        await started.start()
        _stand_ins[slug] = started
    return _stand_ins[slug]


@pytest.fixture
def traffic() -> ProviderTraffic:
    return ProviderTraffic()


@pytest.fixture
async def http(traffic: ProviderTraffic) -> AsyncIterator[httpx.AsyncClient]:
    async with provider_client(traffic) as client:
        yield client
    assert traffic.bypassing == [], "provider requests that bypassed the executor"
