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
                 prefixed: Mapping[str, BaseLoader] | None = None) -> None:
        loaders: list[BaseLoader] = [FileSystemLoader(templates),
                                     FileSystemLoader(KERNEL_TEMPLATES)]
        if prefixed:
            loaders.append(PrefixLoader(dict(prefixed), delimiter="/"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
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
        html = self.env.get_template(template).render(
            **context, csp_nonce=csp.nonce, static=self.static)
        response = HTMLResponse(html, status_code=status_code)
        apply_security_headers(
            response, csp, https=request.url.scheme == "https" if https is None else https)
        if after is not None:
            after(response)
        return response
