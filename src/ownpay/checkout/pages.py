"""The checkout's pages on the page kernel: its templates, its asset bundle, each gateway's
fragment (``gateway/<slug>/…`` from the adapter's own ``templates`` folder), and the page
context of a page without a brand's theme."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, FileSystemLoader, TemplateNotFound

from ownpay.branding import theme
from ownpay.gateways import registry
from ownpay.web.pages import Pages
from ownpay.web.pages.assets import Assets

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LEGACY_ASSET_PATH = "/checkout-assets"  # where checkout.css/js were always served


class GatewayTemplates(BaseLoader):
    """``<slug>/<file>`` from the registered adapter's ``templates`` folder, else from the
    ``shared_templates`` of its family."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        slug, _, name = template.partition("/")
        adapter = registry.get(slug)
        folders = [] if adapter is None else [
            f for f in (adapter.templates, adapter.shared_templates) if f is not None]
        if not folders or not name or ".." in Path(name).parts:
            raise TemplateNotFound(template)
        path = next((f / name for f in folders if (f / name).is_file()), None)
        if path is None:
            raise TemplateNotFound(template)
        mtime = path.stat().st_mtime
        return path.read_text(), str(path), lambda: path.stat().st_mtime == mtime


def gateway_bundle(slug: str) -> str:
    return f"gateway-{slug}"


def build_assets() -> Assets:
    """The kernel's bundle, the checkout's, and each installed gateway's browser code."""
    assets = Assets()
    assets.add("checkout", STATIC, alias=LEGACY_ASSET_PATH)
    for slug, adapter in sorted(registry.all_gateways().items()):
        if adapter.static is not None:
            assets.add(gateway_bundle(slug), adapter.static)
    return assets


LINK_TEMPLATES = Path(__file__).parent.parent / "links" / "templates"
INVOICE_TEMPLATES = Path(__file__).parent.parent / "invoices" / "templates"


def build_pages(assets: Assets) -> Pages:
    """The checkout's templates, each gateway's (``gateway/<slug>/…``) and the payment
    links' and invoices' public pages (``links/…``, ``invoices/…``), all on the checkout's
    layout, in the customer's language (``web/pages/language.py``)."""
    return Pages(TEMPLATES, assets=assets, default_bundle="checkout", translated=True,
                 prefixed={"gateway": GatewayTemplates(),
                           "links": FileSystemLoader(LINK_TEMPLATES),
                           "invoices": FileSystemLoader(INVOICE_TEMPLATES)})


def gateway_template(slug: str, template: str) -> str:
    return f"gateway/{slug}/{template}"


def brand(primary_color: str | None) -> dict[str, Any]:
    """A page's ``brand`` context without a brand's theme: the primary colour (or the
    default) with black or white text, whichever contrasts more (``branding/contrast.py``).
    A brand's own pages use ``branding.theme.view(merchant)``."""
    return {**theme.view(None), **theme.colours(primary_color)}
