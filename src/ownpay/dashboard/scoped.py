"""What the configuration pages share: the brand and mode a page acts on, and a service's
refusal turned into the field errors a form shows."""

from __future__ import annotations

from ownpay.dashboard.web import Gone, Viewer
from ownpay.errors import ApiError
from ownpay.merchants.models import Merchant
from ownpay.tenancy import TenantScope


def brand_of(viewer: Viewer) -> Merchant:
    """The brand shown (a user with no brand to see gets 404 on a brand's page)."""
    if viewer.merchant is None:
        raise Gone()
    return viewer.merchant


def scope_of(viewer: Viewer) -> TenantScope:
    return TenantScope(brand_of(viewer).id, viewer.mode)


def errors_of(exc: ApiError, field: str = "form") -> dict[str, list[str]]:
    """A service's ``ValidationFailed`` (per field) or any other refusal (one message)."""
    return dict(exc.errors) if exc.errors else {field: [exc.message]}
