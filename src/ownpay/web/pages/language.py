"""Which language a customer page speaks: the brand's default (``merchants.checkout_language``),
overridden by the customer's own choice -- ``?lang=bn`` (the language switch's link) or the
``op_lang`` cookie that choice leaves (``SameSite=Lax``, not ``HttpOnly`` -- nothing secret --,
``Secure`` on HTTPS like the checkout's CSRF cookie).  ``Accept-Language`` is never read: the
merchant decides the default.  An unknown ``lang`` is ignored (the default, no error).

:func:`activate` is called once per request as soon as the brand is known (before any
customer message is composed in Python); :class:`ownpay.web.pages.Pages` renders in the
chosen language and sets the cookie when the query string chose it."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ownpay import i18n

COOKIE = "op_lang"
QUERY = "lang"
_MAX_AGE = 365 * 86400


def choose(request: Request, default: str | None) -> tuple[str, bool]:
    """The language, and whether the query string chose it (then it is remembered)."""
    asked = i18n.known(request.query_params.get(QUERY))
    if asked is not None:
        return asked, True
    kept = i18n.known(request.cookies.get(COOKIE))
    return kept or i18n.known(default) or i18n.DEFAULT, False


def activate(request: Request, default: str | None) -> str:
    lang, chosen = choose(request, default)
    i18n.activate(lang)
    request.state.language = lang
    request.state.language_chosen = chosen
    return lang


def language_of(request: Request) -> str:
    """The language :func:`activate` chose for this request (the cookie's or the query's
    when it was never called, e.g. an error page before the brand is known)."""
    lang = getattr(request.state, "language", None)
    return lang if lang is not None else activate(request, None)


def remember(request: Request, response: Response, *, https: bool) -> None:
    if getattr(request.state, "language_chosen", False):
        response.set_cookie(COOKIE, request.state.language, max_age=_MAX_AGE, path="/",
                            samesite="lax", secure=https)


def switch_links(request: Request) -> list[dict[str, str]]:
    """The other languages, each a link to this same page in it."""
    current = language_of(request)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != QUERY]
    links = []
    for lang in i18n.LANGUAGES:
        if lang == current:
            continue
        links.append({"lang": lang, "name": i18n.NAMES[lang],
                      "href": f"{request.url.path}?{urlencode([*query, (QUERY, lang)])}"})
    return links
