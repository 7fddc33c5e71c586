"""A facade's own error envelope on its own routes.

A facade's router uses a route class made by :func:`route_class`: every ``ApiError`` raised
while the route runs -- by authentication and rate limiting in its dependencies, by reading
the body, by the services -- and every request-validation error is rendered by the
facade's ``render`` instead of the application's handlers.  Paths no route matches (404,
405) keep the application's envelope: no facade owns them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from ownpay.errors import ApiError

Render = Callable[[Request, ApiError | RequestValidationError], Response]


def route_class(render: Render) -> type[APIRoute]:
    """An ``APIRoute`` whose errors are answered by ``render``."""

    class FacadeRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def route(request: Request) -> Response:
                try:
                    return await handler(request)
                except (ApiError, RequestValidationError) as exc:
                    return render(request, exc)

            return route

    FacadeRoute.facade_render = render  # type: ignore[attr-defined]
    return FacadeRoute


def request_id(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return str(value) if value else None
