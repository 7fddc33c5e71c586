"""``GET /brand-assets/{sha256}.png|.css``: a brand's uploaded logo or favicon (PNG) and its
sanitised stylesheet, from our own origin (so ``img-src`` / ``style-src 'self'`` cover
them).  Only stored assets answer (anything else is the checkout's 404); the name is the
content's digest, so an answer never changes and is cached for a year (``immutable``).
On a brand's own domain only that brand's assets answer (``domains/routing.py``)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from ownpay.branding import service
from ownpay.domains.routing import BRAND_KEY
from ownpay.web.deps import app_context

router = APIRouter(include_in_schema=False)
NAME = re.compile(r"^([0-9a-f]{64})\.(png|css)$")
TYPES = {"png": "image/png", "css": "text/css"}
CACHE = "public, max-age=31536000, immutable"


@router.get("/brand-assets/{name}")
async def brand_asset(name: str, request: Request) -> Response:
    match = NAME.match(name)
    found = None
    if match:
        async with app_context(request).sessions() as session:
            found = await service.asset(session, match[1], TYPES[match[2]],
                                        merchant_id=request.scope.get("state", {}).get(BRAND_KEY))
    if found is None:
        return Response("Not found.", status_code=404, media_type="text/plain",
                        headers={"Cache-Control": "no-store"})
    media = "text/css; charset=utf-8" if found.content_type == "text/css" else "image/png"
    return Response(found.data, media_type=media, headers={
        "Cache-Control": CACHE, "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Content-Security-Policy": "default-src 'none'; sandbox"})
