"""The custom-CSS sanitiser against hostile input: every way of loading from elsewhere,
running script or leaving the stylesheet is refused with the line it is on, or comes out
harmless; ordinary CSS comes back as it was checked (comments dropped)."""

from __future__ import annotations

import pytest

from ownpay.branding.css import MAX_BYTES, BadCss, sanitise

OWN = "/brand-assets/" + "ab" * 32 + ".png"


@pytest.mark.parametrize(("css", "line", "why"), [
    ('@import "https://evil/x.css";', 1, "@import"),
    ("a{color:red}\n@IMPORT url(x.css);", 2, "@import"),
    ("a{background:url(https://evil/x.png)}", 1, "url()"),
    ('a{background:url( "//evil" )}', 1, "url()"),
    ("a{background:url('//evil/x.png')}", 1, "url()"),
    ("a{background:u\\72l(//evil)}", 1, "url()"),
    ("a{background:\\75rl(//evil)}", 1, "url()"),
    ("a{background:URL(//evil)}", 1, "url()"),
    ("a{\n  color:red;\n  background:url(/brand-assets/../../admin)}", 3, "url()"),
    ("a{background:url(" + OWN + "?x)}", 1, "url()"),
    ('a{background:image-set("https://evil/x.png" 1x)}', 1, "image-set()"),
    ("a{width:expression(alert(1))}", 1, "expression()"),
    ("a{behavior:url(x.htc)}", 1, "behavior"),
    ("a{-moz-binding:url(x.xml#b)}", 1, "-moz-binding"),
    ("</style><script>alert(1)</script>", 1, "</style"),
    ("a{content:'</STYLE>'}", 1, "</style"),
    ("/* </style> */ a{color:red}", 1, "</style"),
    ('@charset "utf-8";', 1, "@charset"),
    ("@namespace svg url(http://www.w3.org/2000/svg);", 1, "@namespace"),
    ("@font-face{font-family:x;src:url(https://evil/f.woff2)}", 1, "url()"),
    ("@media screen{\n@import 'x';}", 2, "@import"),
    ("@page{margin:0}", 1, "@page"),
    ("a{background:url(javascript:alert(1))}", 1, "javascript:"),
    ("a{b:c}\n\n<!--", 3, "<!--"),
])
def test_hostile_css_is_refused_with_its_line(css: str, line: int, why: str) -> None:
    with pytest.raises(BadCss) as refused:
        sanitise(css)
    assert refused.value.line == line
    assert str(refused.value).startswith(f"Line {line}: ") and why in str(refused.value)


@pytest.mark.parametrize(("css", "stored"), [
    (".button.primary{border-radius:0}", ".button.primary{border-radius:0}\n"),
    ("/* ours */ .brand-name { letter-spacing: .1em }",
     ".brand-name { letter-spacing: .1em }\n"),
    ("@media (max-width:600px){.card{padding:0}}", "@media (max-width:600px){.card{padding:0}}\n"),
    (f".x{{background:url({OWN})}}", f".x{{background:url({OWN})}}\n"),
    (f'.x{{background:url( "{OWN}" )}}', f'.x{{background:url( "{OWN}" )}}\n'),
    ("@keyframes k{from{opacity:0}to{opacity:1}}", "@keyframes k{from{opacity:0}to{opacity:1}}\n"),
    ("@font-face{font-family:x;src:local(Arial)}", "@font-face{font-family:x;src:local(Arial)}\n"),
    ("", ""),
])
def test_ordinary_css_passes_as_checked(css: str, stored: str) -> None:
    assert sanitise(css) == stored


def test_a_comment_splitting_a_token_leaves_nothing_that_loads() -> None:
    # u/**/rl( is the identifier "u" and the function "rl(": no url() to a browser either.
    out = sanitise("a{background:u/**/rl(//evil)}")
    assert "url(" not in out.replace("/**/", "") or "u/**/rl(" in out
    assert "u/**/rl(//evil)" in out  # the comment survives as a token separator


def test_too_large_css_is_refused() -> None:
    with pytest.raises(BadCss, match="20 KiB"):
        sanitise("a{color:red}" * (MAX_BYTES // 12 + 1))
