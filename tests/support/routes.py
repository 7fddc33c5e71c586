"""Every route under ``/api/`` of the application, with the scopes it demands, read from the
app itself: enumerated from ``app.routes`` (through FastAPI's ``iter_route_contexts``, which
also walks included routers), the scope read from the route's
``merchants.auth.require_scope(scope)`` dependency -- never from a hand-written list, so a
route added later is covered the moment it is mounted."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from ownpay.app import create_app
from ownpay.merchants.auth import require_scope
from tests.support.settings import make_settings

PUBLIC_ROUTES = {("GET", "/api/v1/health")}
# The paired phones' API: a device token, not an API key (tests/sms/test_device_api.py
# drives every authentication case of every route under it).
DEVICE_PREFIX = "/api/mobile/"
_SCOPE_DEPENDENCY = require_scope("read").__qualname__


def _path_params(dependant: Any) -> list[str]:
    """The path parameters of a route and of the dependencies it uses, once each."""
    names = [p.name for p in dependant.path_params]
    for sub in dependant.dependencies:
        names += [n for n in _path_params(sub) if n not in names]
    return names


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str
    scopes: frozenset[str]
    path_params: tuple[str, ...]
    # Where the key goes: "authorization" (Bearer), or a facade's own header
    # (``require_scope(scope, header)``: UddoktaPay's and PipraPay's, tests/compat).
    key_header: str = "authorization"

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, values: dict[str, str]) -> str:
        return self.path.format(**values)


def _required_scopes(dependant: Any) -> set[str]:
    """Scopes demanded by ``require_scope`` anywhere in a route's dependency tree."""
    found: set[str] = set()
    for sub in dependant.dependencies:
        call = sub.call
        if getattr(call, "__qualname__", None) == _SCOPE_DEPENDENCY:
            scope = inspect.getclosurevars(call).nonlocals.get("scope")
            assert isinstance(scope, str), f"cannot read the scope of {call!r}"
            found.add(scope)
        found |= _required_scopes(sub)
    return found


def _key_header(dependant: Any) -> str:
    for sub in dependant.dependencies:
        if getattr(sub.call, "__qualname__", None) == _SCOPE_DEPENDENCY:
            header = inspect.getclosurevars(sub.call).nonlocals.get("header", "authorization")
            return str(header)
        found = _key_header(sub)
        if found != "authorization":
            return found
    return "authorization"


def api_routes(app: Any) -> list[RouteCase]:
    cases: list[RouteCase] = []
    for route in iter_route_contexts(app.routes):
        path = route.path
        if not isinstance(route.original_route, APIRoute) or not (path or "").startswith("/api/"):
            continue
        if (path or "").startswith(DEVICE_PREFIX):
            continue
        assert path is not None
        dependant = route.dependant
        for method in sorted(route.methods or ()):
            if method == "HEAD" or (method, path) in PUBLIC_ROUTES:
                continue
            cases.append(RouteCase(
                method=method,
                path=path,
                scopes=frozenset(_required_scopes(dependant)),
                # Also those a resource-or-404 dependency declares.
                path_params=tuple(_path_params(dependant)),
                key_header=_key_header(dependant),
            ))
    return cases


# Built once at import: routes do not depend on the database or the settings.
ROUTES = api_routes(create_app(make_settings("sqlite+aiosqlite:///:memory:", Path("unused"))))
