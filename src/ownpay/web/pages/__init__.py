"""The page kernel: everything a server-rendered page of OwnPay needs, whoever serves it
(the hosted checkout today, the operator dashboard next).

- :class:`Pages`: one Jinja2 environment per sub-application, with autoescaping, the
  kernel's base layout and macros (``base.html``, ``macros.html``), the sub-application's
  own templates, and templates registered by others under a prefix (each gateway's
  checkout fragment is ``gateway/<slug>/…``, so adding a gateway never edits checkout/).
- :mod:`~ownpay.web.pages.security`: a per-response CSP nonce and the security headers.
- :mod:`~ownpay.web.pages.csrf`: session-bound tokens, and the checkout's transaction-bound
  double-submit tokens.
- :mod:`~ownpay.web.pages.assets`: one static-assets mechanism (named bundles under
  ``/assets/<bundle>/``).
- :mod:`~ownpay.web.pages.language`: the customer's language (``translated=True``: Jinja2's
  i18n extension over :mod:`ownpay.i18n`'s catalogues, ``lang``, the language switch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    select_autoescape,
)
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ownpay import i18n
from ownpay.web.pages import language
from ownpay.web.pages.assets import Assets
from ownpay.web.pages.security import Csp, apply_security_headers

KERNEL_TEMPLATES = Path(__file__).parent / "templates"

# CommonMark without raw HTML; markdown-it refuses javascript:/data: links itself.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))  # noqa: S704 - raw HTML disabled above


class Pages:
    """Rendering for one sub-application.

    ``templates`` is the sub-application's own folder (looked up first, unprefixed);
    ``prefixed`` maps a prefix to a loader for templates others contribute."""

    def __init__(self, templates: Path, *, assets: Assets, default_bundle: str,
                 prefixed: Mapping[str, BaseLoader] | None = None,
                 translated: bool = False) -> None:
        loaders: list[BaseLoader] = [FileSystemLoader(templates),
                                     FileSystemLoader(KERNEL_TEMPLATES)]
        if prefixed:
            loaders.append(PrefixLoader(dict(prefixed), delimiter="/"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.i18n"],
        )
        self.translated = translated
        # Newstyle: ``_("… %(name)s", name=…)`` escapes and formats after translating.  A
        # page kernel that is not translated (the dashboard) still reads the kernel's
        # ``_()`` calls, as English.
        if translated:
            self.env.install_gettext_callables(  # type: ignore[attr-defined]
                i18n.gettext, i18n.ngettext, newstyle=True)
        else:
            self.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
        # A message made elsewhere (a gateway's, a form error), looked up as it is: no
        # ``%`` formatting, so any text is safe to pass.
        self.env.filters["translate"] = i18n.gettext if translated else str
        self.env.filters["markdown"] = markdown
        self.assets = assets
        self.default_bundle = default_bundle
        self.env.globals["asset"] = assets.url

    def static(self, path: str) -> str:
        return self.assets.url(self.default_bundle, path)

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        csp: Csp,
        status_code: int = 200,
        after: Callable[[HTMLResponse], None] | None = None,
        https: bool | None = None,
    ) -> HTMLResponse:
        """``https``: whether the client is on HTTPS (behind a trusted TLS proxy too, see
        :func:`ownpay.web.client.forwarded_proto`); by default the connection's scheme."""
        secure = request.url.scheme == "https" if https is None else https
        extra: dict[str, Any] = {}
        if self.translated:
            lang = language.language_of(request)
            extra = {"lang": lang, "locale": i18n.BROWSER_LOCALES[lang],
                     # A page that does not exist has no "this page in Bangla", and its
                     # path (what the visitor typed) is not echoed back.
                     "languages": language.switch_links(request) if status_code != 404
                     else []}
        html = self.env.get_template(template).render(
            **context, **extra, csp_nonce=csp.nonce, static=self.static)
        response = HTMLResponse(html, status_code=status_code)
        apply_security_headers(response, csp, https=secure)
        if self.translated:
            language.remember(request, response, https=secure)
        if after is not None:
            after(response)
        return response
