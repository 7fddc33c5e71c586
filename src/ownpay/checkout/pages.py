"""The checkout's pages on the page kernel: its templates, its asset bundle, each gateway's
fragment (``gateway/<slug>/…`` from the adapter's own ``templates`` folder), the page
context of a page without a brand's theme, and :func:`render_public`, how a brand's public
page other than the checkout (a payment link's, an invoice's) is answered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, FileSystemLoader, TemplateNotFound
from starlette.requests import Request
from starlette.responses import Response

from ownpay.branding import theme
from ownpay.gateways import registry
from ownpay.i18n import gettext
from ownpay.web.client import client_ip, forwarded_proto
from ownpay.web.deps import app_context
from ownpay.web.pages import Pages
from ownpay.web.pages.assets import Assets
from ownpay.web.pages.csrf import TransactionCsrf
from ownpay.web.pages.security import Csp

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


def render_public(request: Request, merchant: Any | None, template: str,
                  context: dict[str, Any], *, csrf_subject: str | None = None,
                  images: tuple[str | None, ...] = (), status_code: int = 200) -> Response:
    """A brand's public page on the checkout's layout: the brand's theme and name (none:
    the installation's), its logo and ``images`` allowed by the CSP, and with
    ``csrf_subject`` a form token bound to it (``csrf_token``; its cookie is set on the
    answer)."""
    ctx = app_context(request)
    https = forwarded_proto(request.scope, ctx.settings.trusted_proxies) == "https"
    csp = Csp()
    after = None
    shared: dict[str, Any] = {"brand": theme.view(merchant), "merchant": None}
    if merchant is not None:
        shared["merchant"] = {"name": merchant.name, "logo_url": theme.logo_src(merchant)}
        csp.allow_images(merchant.logo_url)
    for image in images:
        csp.allow_images(image)
    if csrf_subject is not None:
        csrf = TransactionCsrf(ctx.keyring, request, csrf_subject, https=https)
        shared["csrf_token"] = csrf.token
        after = csrf.set_cookie
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {**shared, **context}, csp=csp, https=https,
                        status_code=status_code, after=after)


async def payments_refused(request: Request) -> tuple[str, dict[str, str]] | None:
    """Whether this client started too many payments from public pages (rate-limit rule
    ``link_payments_ip``, shared by payment links and invoices): the customer's message in
    the page's language and the answer's rate-limit headers, or None."""
    ctx = app_context(request)
    refused = await ctx.rate_limiter.hit(
        "link_payments_ip", client_ip(request.scope, ctx.settings.trusted_proxies))
    if refused is None:
        return None
    message = gettext("Too many payments started from here. Please wait %(seconds)s "
                      "seconds, then try again.") % {"seconds": refused.reset_after}
    return message, refused.headers()
