"""The layer markers (``unit``, ``api``, ``browser``, ``e2e``) and ``postgres``, derived from
what a test uses; a module or test marks itself where nothing here can tell.

* ``browser`` -- it drives Chromium (the ``browser``/``page``/``phone_page`` fixtures).
* ``e2e`` -- it starts real processes on loopback (the ``live_server`` or ``standin``
  fixtures; explicitly, for modules that start ``ownpay serve``/``worker``/the installed
  command line, PHP or Node themselves).  The helpers that start a process refuse to run in
  a test without the marker (:func:`require_e2e`), so the marker cannot silently go stale.
* ``api`` -- it talks HTTP to the app or a stand-in inside the test process (an ASGI client
  fixture, the bKash simulator or a webhook receiver on loopback; explicitly for clients a
  test builds itself).
* ``unit`` -- none of those: functions, services and the database called directly.
* ``postgres`` -- the PostgreSQL parametrization of a database-backed test.

A test can carry several (a browser test on a real server is ``browser`` and ``e2e``), so
``-m "not e2e and not browser"`` is the in-process suite and ``-m unit`` the quickest part.
"""

from __future__ import annotations

import pytest

LAYERS = ("unit", "api", "browser", "e2e")
BROWSER_FIXTURES = frozenset({"browser", "page", "phone_page"})
PROCESS_FIXTURES = frozenset({"live_server", "standin"})
HTTP_FIXTURES = frozenset({"client", "wclient", "customer", "sim_server", "receiver"})


def derived(item: pytest.Item) -> set[str]:
    """The markers ``item`` gets on top of those it was given."""
    names = set(getattr(item, "fixturenames", ()))
    given = {m.name for m in item.iter_markers()}
    found: set[str] = set()
    if names & BROWSER_FIXTURES:
        found.add("browser")
    if names & PROCESS_FIXTURES:
        found.add("e2e")
    if names & HTTP_FIXTURES:
        found.add("api")
    if not (found | given) & set(LAYERS):
        found.add("unit")
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == "postgresql":
        found.add("postgres")
    return found - given


# ---- keeping ``e2e`` true ------------------------------------------------------------------

_allowed = True  # outside a test body (session and module fixtures) processes may start


def allow_processes(allowed: bool) -> None:
    """Set by an autouse fixture around each test: whether the test is marked ``e2e``."""
    global _allowed
    _allowed = allowed


def require_e2e(what: str) -> None:
    if not _allowed:
        raise AssertionError(
            f"{what} starts a real process, so the test must be marked `e2e` "
            "(pytestmark = pytest.mark.e2e, or @pytest.mark.e2e)"
        )
