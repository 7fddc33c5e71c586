"""A brand's custom CSS: parsed with tinycss2, checked node by node, re-serialised.

The stylesheet is served from our own origin (``/brand-assets/<sha256>.css``) and linked
after the checkout's CSS, so the CSP's ``style-src 'self'`` covers it and it never sits in
a ``<style>`` block.  What it must not do is load anything from elsewhere, run anything, or
leave the stylesheet.  Refused, with the line it is on:

* ``@import``, ``@charset``, ``@namespace`` and any at-rule not in :data:`AT_RULES`;
* ``url(…)`` (quoted or not, escaped or not: the check is on the decoded tokens, so
  ``u\\72l(`` is ``url(``) unless it is exactly one of our own assets,
  ``/brand-assets/<sha256>.png``; ``@font-face`` therefore has no remote ``src``;
* the other functions that fetch or run: :data:`FUNCTIONS` (``image-set``, ``expression``, …);
* the properties ``behavior`` and ``-moz-binding``; ``javascript:`` anywhere;
* ``</style`` and ``<!--`` anywhere in the text (even in a comment or a string), and the
  parser's own errors.

Comments are dropped; what passed is serialised again from the parsed tokens, so the
stored text is exactly what was checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import tinycss2
from tinycss2 import ast

MAX_BYTES = 20 * 1024
OWN_ASSET = re.compile(r"^/brand-assets/[0-9a-f]{64}\.png$")
AT_RULES = frozenset({"media", "supports", "keyframes", "-webkit-keyframes", "font-face",
                      "layer", "container"})
RULE_LISTS = frozenset({"media", "supports", "layer", "container"})
REFUSED_AT = {"import": "@import is not allowed: the stylesheet cannot load another one.",
              "charset": "@charset is not allowed (the stylesheet is UTF-8).",
              "namespace": "@namespace is not allowed."}
FUNCTIONS = frozenset({"expression", "image-set", "-webkit-image-set", "image", "src",
                       "cross-fade", "-webkit-cross-fade", "element", "-moz-element",
                       "paint", "env"})
PROPERTIES = frozenset({"behavior", "-moz-binding", "-ms-behavior"})
RAW = (("</style", "“</style” is not allowed."), ("<!--", "“<!--” is not allowed."),
       ("-->", "“-->” is not allowed."))


class BadCss(ValueError):
    """The first thing refused, as ``line N: why``."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(f"Line {line}: {why}")
        self.line = line


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _raw_checks(text: str) -> None:
    lowered = text.lower()
    for needle, why in RAW:
        at = lowered.find(needle)
        if at >= 0:
            raise BadCss(_line_of(text, at), why)
    at = lowered.find("javascript:")
    if at >= 0:
        raise BadCss(_line_of(text, at), "“javascript:” is not allowed.")
    if "\x00" in text:
        raise BadCss(_line_of(text, text.index("\x00")), "A NUL character is not allowed.")


def _line(node: Any) -> int:
    return int(getattr(node, "source_line", 0) or 0)


def _tokens(nodes: Iterable[Any] | None) -> None:
    """Every component value, nested blocks and function arguments included."""
    for node in nodes or ():
        match node:
            case ast.ParseError():
                raise BadCss(_line(node), f"The CSS cannot be read ({node.message}).")
            case ast.URLToken():
                _url(node, node.value)
            case ast.FunctionBlock():
                name = node.lower_name
                if name == "url":
                    strings = [a for a in node.arguments
                               if not isinstance(a, ast.WhitespaceToken | ast.Comment)]
                    value = strings[0].value if (len(strings) == 1 and isinstance(
                        strings[0], ast.StringToken)) else None
                    _url(node, value)
                elif name in FUNCTIONS or "expression" in name:
                    raise BadCss(_line(node), f"{name}() is not allowed.")
                _tokens(node.arguments)
            case ast.AtKeywordToken():
                raise BadCss(_line(node), f"@{node.value} is not allowed here.")
            case ast.SquareBracketsBlock() | ast.ParenthesesBlock() | ast.CurlyBracketsBlock():
                _tokens(node.content)
            case _:
                pass


def _url(node: Any, value: str | None) -> None:
    if value is None or not OWN_ASSET.match(value.strip()):
        raise BadCss(_line(node), "url() may only name one of this brand's uploaded images "
                                  "(/brand-assets/….png).")


def _declarations(content: list[Any] | None) -> None:
    for item in tinycss2.parse_blocks_contents(content or [], skip_whitespace=True,
                                               skip_comments=True):
        match item:
            case ast.Declaration():
                if item.lower_name in PROPERTIES:
                    raise BadCss(_line(item), f"The property {item.name} is not allowed.")
                _tokens(item.value)
            case ast.QualifiedRule():  # nested rule (CSS nesting)
                _tokens(item.prelude)
                _declarations(item.content)
            case ast.AtRule():
                _at_rule(item)
            case ast.ParseError():
                raise BadCss(_line(item), f"The CSS cannot be read ({item.message}).")


def _at_rule(rule: ast.AtRule) -> None:
    name = rule.lower_at_keyword
    if name in REFUSED_AT:
        raise BadCss(_line(rule), REFUSED_AT[name])
    if name not in AT_RULES:
        raise BadCss(_line(rule), f"@{rule.at_keyword} is not allowed.")
    _tokens(rule.prelude)
    if rule.content is None:
        if name != "layer":
            raise BadCss(_line(rule), f"@{rule.at_keyword} needs a block.")
        return
    if name in RULE_LISTS:
        _rules(tinycss2.parse_rule_list(rule.content, skip_whitespace=True,
                                        skip_comments=True))
    elif name == "font-face":
        _declarations(rule.content)
    else:  # keyframes: a list of percentage rules
        for frame in tinycss2.parse_rule_list(rule.content, skip_whitespace=True,
                                              skip_comments=True):
            if not isinstance(frame, ast.QualifiedRule):
                raise BadCss(_line(frame), "A keyframe must be a rule like “50% { … }”.")
            _tokens(frame.prelude)
            _declarations(frame.content)


def _rules(rules: Iterable[Any]) -> None:
    for rule in rules:
        match rule:
            case ast.QualifiedRule():
                _tokens(rule.prelude)
                _declarations(rule.content)
            case ast.AtRule():
                _at_rule(rule)
            case ast.ParseError():
                raise BadCss(_line(rule), f"The CSS cannot be read ({rule.message}).")


def sanitise(text: str) -> str:
    """The stylesheet to store for ``text``, or :class:`BadCss` naming the line."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise BadCss(1, f"The CSS is {len(text.encode('utf-8'))} bytes; at most "
                        f"{MAX_BYTES} (20 KiB).")
    _raw_checks(text)
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    _rules(rules)
    return "\n".join(tinycss2.serialize([rule]) for rule in rules) + ("\n" if rules else "")
