"""Every dashboard route with the permission it demands, read from the app: the
``dashboard.web.require(permission)`` dependency found in each route's dependency tree
(never a hand-written list, so a page added later is covered the moment it is mounted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from ownpay.dashboard.roles import Permission

# Reachable without a session: signing in (and the bare /admin redirect).
PUBLIC = {("GET", "/admin"), ("GET", "/admin/sign-in"), ("POST", "/admin/sign-in"),
          ("GET", "/admin/sign-in/2fa"), ("POST", "/admin/sign-in/2fa")}


@dataclass(frozen=True)
class DashboardRoute:
    method: str
    path: str
    permission: Permission
    step_up: bool
    path_params: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def _guard(dependant: Any) -> Any:
    for sub in dependant.dependencies:
        if getattr(sub.call, "permission", None) is not None:
            return sub.call
        found = _guard(sub)
        if found is not None:
            return found
    return None


def dashboard_routes(dashboard_app: Any) -> tuple[list[DashboardRoute], list[str]]:
    """The guarded routes, and the unguarded ones that are not in :data:`PUBLIC`."""
    guarded, unguarded = [], []
    for context in iter_route_contexts(dashboard_app.router.routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            guard = _guard(route.dependant)
            if guard is None:
                if (method, route.path) not in PUBLIC:
                    unguarded.append(f"{method} {route.path}")
                continue
            guarded.append(DashboardRoute(
                method, route.path, guard.permission, guard.step_up,
                tuple(p.name for p in route.dependant.path_params)))
    return guarded, unguarded
