"""A brand's look and feel end to end in-process: set through ``ownpay merchants theme`` and
the dashboard's "Look & feel" form (one service), shown on the checkout and the payment-link
page (logo, favicon, colours, support contact, footer, custom CSS from our origin), assets
served by digest with long cache headers and 404 for anything else; the form refuses a
missing CSRF token, a role without ``brands.edit``, another brand, low contrast, bad CSS
and a disguised image, changing nothing; each change writes one audit row."""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from ownpay.audit.models import AuditEntry
from ownpay.branding.models import BrandAsset
from ownpay.branding.service import update_theme
from ownpay.db import utcnow
from ownpay.domains.models import BrandDomain
from ownpay.merchants import service
from tests.support.checkout import new_intent
from tests.support.commands import app_env, in_process
from tests.support.dashboard import csrf_of, make_user, post_form, sign_in
from tests.support.factories import MerchantKeys, create_merchant

pytestmark = pytest.mark.api
HOSTILE = "<script>alert(1)</script> {{ 7*7 }}"
ASSET = re.compile(r"/brand-assets/([0-9a-f]{64})\.(png|css)")


def image(fmt: str, size: tuple[int, int] = (300, 120), color: str = "#0f766e") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


async def brand_row(ctx: Any, slug: str) -> Any:
    async with ctx.sessions() as s:
        return await service.get_merchant(s, slug)


async def audit_rows(ctx: Any, slug: str) -> list[AuditEntry]:
    async with ctx.sessions() as s:
        return list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "brand.theme_updated", AuditEntry.object_id == slug)))


async def signed_in(client: httpx.AsyncClient, ctx: Any, role: str, brand: MerchantKeys) -> None:
    user = await make_user(ctx, role, merchant=None if role in ("owner", "admin")
                           else brand.slug)
    assert (await sign_in(client, user.email, user.password)).status_code == 303
    switched = await post_form(client, "/admin/account", "/admin/switch", {
        "merchant": str(brand.id), "mode": "test", "next": "/admin/"})
    assert switched.status_code == 303


async def theme_form(client: httpx.AsyncClient, brand: MerchantKeys, *,
                     token: bool = True, files: dict[str, Any] | None = None,
                     **fields: str) -> httpx.Response:
    url = f"/admin/brands/{brand.id}/theme"
    page = await client.get(url)
    assert page.status_code == 200, page.text[:300]
    data = {"csrf_token": csrf_of(page.text)} if token else {}
    # always multipart, as the browser sends it (enctype="multipart/form-data")
    return await client.post(url, data={**data, **fields},
                             files=files or {"logo": ("", b"", "application/octet-stream")})


async def test_the_cli_themes_the_checkout_and_the_link_page(
        client: httpx.AsyncClient, ctx: Any, tmp_path: Path) -> None:
    brand = await create_merchant(ctx, name=HOSTILE)
    (tmp_path / "logo.png").write_bytes(image("JPEG", (1200, 600)))  # a JPEG named .png
    (tmp_path / "icon.ico").write_bytes(image("PNG", (32, 32)))
    (tmp_path / "brand.css").write_text(
        "/* ours */\n.brand-name{letter-spacing:.2em}\n", encoding="utf-8")
    result = await asyncio.to_thread(
        in_process, app_env(ctx), "merchants", "theme", brand.slug,
        "--logo", str(tmp_path / "logo.png"), "--favicon", str(tmp_path / "icon.ico"),
        "--primary", "#FFD400", "--accent", "#0f766e", "--support-email", "help@example.com",
        "--support-phone", "+880 1700-000000", "--support-url", "https://shop.test/help",
        "--footer", HOSTILE, "--css", str(tmp_path / "brand.css"), "--json")
    assert result.exit_code == 0, result.stderr
    row = await brand_row(ctx, brand.slug)
    assert row.primary_color == "#ffd400" and row.theme["accent_color"] == "#0f766e"
    [audit] = await audit_rows(ctx, brand.slug)
    assert set(audit.changes) >= {"logo", "favicon", "css", "primary_color", "footer_text"}

    txn = await new_intent(client, brand)
    page = await client.get(f"/checkout/{txn}")
    assert page.status_code == 200
    text = page.text
    assert f'src="/brand-assets/{row.theme["logo"]}.png"' in text
    favicon = f'href="/brand-assets/{row.theme["favicon"]}.png"'
    assert f'<link rel="icon" type="image/png" {favicon}>' in text
    # black text on the yellow (computed), the accent as its own variable
    assert ("--primary:#ffd400;--on-primary:#000000;--accent:#0f766e;--on-accent:#ffffff;"
            "--accent-line:#0f766e}") in text
    css_link = f'<link rel="stylesheet" href="/brand-assets/{row.theme["css"]}.css"'
    assert css_link in text and text.index(css_link) > text.index("checkout.css")
    assert 'href="mailto:help@example.com"' in text and 'href="tel:+8801700-000000"' in text
    assert 'href="https://shop.test/help"' in text
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in text
    csp = page.headers["content-security-policy"]
    assert "style-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp

    made = await client.post("/api/v1/payment-links", headers=brand.auth(), json={
        "title": "Gift box", "currency": "USD", "amount": "25.00"})
    assert made.status_code == 201, made.text
    link_page = await client.get(f"/pay/{made.json()['slug']}")
    assert link_page.status_code == 200
    assert css_link in link_page.text and 'href="mailto:help@example.com"' in link_page.text
    assert f'/brand-assets/{row.theme["logo"]}.png' in link_page.text

    logo = await client.get(f"/brand-assets/{row.theme['logo']}.png")
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    assert logo.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert logo.headers["x-content-type-options"] == "nosniff"
    served = Image.open(io.BytesIO(logo.content))
    assert served.format == "PNG" and served.size == (512, 256)
    sheet = await client.get(f"/brand-assets/{row.theme['css']}.css")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert sheet.text == ".brand-name{letter-spacing:.2em}\n"  # the comment is gone


@pytest.mark.parametrize("path", [
    "/brand-assets/" + "0" * 64 + ".png", "/brand-assets/" + "0" * 64 + ".css",
    "/brand-assets/logo.png", "/brand-assets/" + "A" * 64 + ".png", "/brand-assets/x",
    "/brand-assets/" + "0" * 64 + ".svg",
])
async def test_unknown_assets_are_404(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404 and r.headers["x-content-type-options"] == "nosniff"
    assert "immutable" not in r.headers.get("cache-control", "")


async def test_a_png_asset_is_not_served_as_css(client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    async with ctx.sessions() as s, s.begin():
        await update_theme(s, await service.get_merchant(s, brand.slug),
                           changes={"logo": image("PNG")})
    sha = (await brand_row(ctx, brand.slug)).theme["logo"]
    assert (await client.get(f"/brand-assets/{sha}.png")).status_code == 200
    assert (await client.get(f"/brand-assets/{sha}.css")).status_code == 404


async def test_a_brand_domain_serves_only_its_own_assets(client: httpx.AsyncClient,
                                                         ctx: Any) -> None:
    a, b = await create_merchant(ctx), await create_merchant(ctx)
    for brand, color in ((a, "#0f766e"), (b, "#b45309")):
        async with ctx.sessions() as s, s.begin():
            await update_theme(s, await service.get_merchant(s, brand.slug),
                               changes={"logo": image("PNG", color=color)})
    host = f"pay-{a.id}.brand.example"
    async with ctx.sessions() as s, s.begin():
        s.add(BrandDomain(id=f"dom_{secrets.token_hex(8)}", merchant_id=a.id, domain=host,
                          token=secrets.token_hex(16), status="verified", is_primary=True,
                          created_at=utcnow(), verified_at=utcnow()))
    ctx.brand_hosts.invalidate()
    try:
        mine = f"/brand-assets/{(await brand_row(ctx, a.slug)).theme['logo']}.png"
        theirs = f"/brand-assets/{(await brand_row(ctx, b.slug)).theme['logo']}.png"
        assert (await client.get(mine, headers={"host": host})).status_code == 200
        assert (await client.get(theirs, headers={"host": host})).status_code == 404
        assert (await client.get(theirs)).status_code == 200  # the main address: any brand's
    finally:
        ctx.brand_hosts.invalidate()


async def test_a_manager_uploads_through_the_dashboard_form(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    saved = await theme_form(client, brand, files={
        "logo": ("logo.webp", image("WEBP"), "image/webp"),
        "favicon": ("favicon.png", image("PNG", (16, 16)), "image/png")},
        primary_color="#1a73e8", button_text_color="#ffffff", support_email="help@example.com",
        footer_text="Line one\nLine two", css="a{color:#0f766e}")
    assert saved.status_code == 303, saved.text[:2000]
    assert saved.headers["location"] == f"/admin/brands/{brand.id}/theme?saved=1"
    row = await brand_row(ctx, brand.slug)
    assert row.primary_color == "#1a73e8" and row.theme["button_text_color"] == "#ffffff"
    assert row.theme["footer_text"] == "Line one\nLine two"
    assert len(await audit_rows(ctx, brand.slug)) == 1
    page = await client.get(f"/admin/brands/{brand.id}/theme")
    assert f'/brand-assets/{row.theme["logo"]}.png' in page.text and "a{color:#0f766e}" in page.text
    # the same form again changes nothing; removing the logo deletes its stored row
    again = await theme_form(client, brand, primary_color="#1a73e8", button_text_color="#ffffff",
                             support_email="help@example.com", footer_text="Line one\nLine two",
                             css="a{color:#0f766e}")
    assert again.status_code == 200 and "Nothing changed." in again.text
    removed = await theme_form(client, brand, primary_color="#1a73e8",
                               button_text_color="#ffffff", support_email="help@example.com",
                               footer_text="Line one\nLine two", css="a{color:#0f766e}",
                               remove_logo="on")
    assert removed.status_code == 303
    assert "logo" not in ((await brand_row(ctx, brand.slug)).theme or {})
    async with ctx.sessions() as s:
        kinds = set(await s.scalars(select(BrandAsset.kind).where(
            BrandAsset.merchant_id == brand.id)))
    assert kinds == {"favicon", "css"}
    assert (await client.get(f"/brand-assets/{row.theme['logo']}.png")).status_code == 404


@pytest.mark.parametrize(("fields", "files", "message"), [
    ({"primary_color": "#ffffff", "button_text_color": "#777777"}, None,
     "contrast of 4.48:1 on the primary colour; it needs 4.5:1"),
    ({"button_text_color": "#ffff00", "primary_color": "#ffffff"}, None, "needs 4.5:1"),
    ({"css": "a{color:red}\n@import url(https://evil/x.css);"}, None, "Line 2: @import"),
    ({"css": "a{background:url(https://evil/x.png)}"}, None, "Line 1: url()"),
    ({}, {"logo": ("logo.png", image("GIF"), "image/png")}, "The file is a GIF image."),
    ({"support_email": "not-an-email"}, None, "Must be an e-mail address"),
    ({"support_url": "javascript:alert(1)"}, None, "absolute http(s) URL"),
    ({"accent_color": "red"}, None, "Must be a colour like #1a73e8."),
])
async def test_bad_values_show_the_form_again_and_change_nothing(
        client: httpx.AsyncClient, ctx: Any, fields: dict[str, str],
        files: dict[str, Any] | None, message: str) -> None:
    brand = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    bad = await theme_form(client, brand, files=files, support_phone="+8801700000000",
                           **fields)
    assert bad.status_code == 400 and message in bad.text, bad.text[:3000]
    assert 'aria-invalid="true"' in bad.text
    assert (await brand_row(ctx, brand.slug)).theme is None
    assert not await audit_rows(ctx, brand.slug)


async def test_no_csrf_token_no_permission_or_another_brand_is_refused(
        client: httpx.AsyncClient, ctx: Any) -> None:
    brand = await create_merchant(ctx)
    other = await create_merchant(ctx)
    await signed_in(client, ctx, "manager", brand)
    no_token = await theme_form(client, brand, token=False, primary_color="#000000")
    assert no_token.status_code == 400 and "This form has expired" in no_token.text
    page = await client.get(f"/admin/brands/{brand.id}/theme")
    assert (await client.get(f"/admin/brands/{other.id}/theme")).status_code == 404
    stolen = await client.post(f"/admin/brands/{other.id}/theme", data={
        "csrf_token": csrf_of(page.text), "primary_color": "#000000"},
        files={"logo": ("l.png", image("PNG"), "image/png")})
    assert stolen.status_code == 404
    for slug in (brand.slug, other.slug):
        assert (await brand_row(ctx, slug)).primary_color is None
    async with httpx.AsyncClient(transport=client._transport,  # noqa: SLF001 - same app
                                 base_url="http://pay.test") as viewer:
        await signed_in(viewer, ctx, "viewer", brand)
        assert (await viewer.get(f"/admin/brands/{brand.id}/theme")).status_code == 403
        home = await viewer.get("/admin/account")
        denied = await viewer.post(f"/admin/brands/{brand.id}/theme", data={
            "csrf_token": csrf_of(home.text), "primary_color": "#000000"},
            files={"logo": ("l.png", image("PNG"), "image/png")})
        assert denied.status_code == 403
    assert (await brand_row(ctx, brand.slug)).primary_color is None
    assert not await audit_rows(ctx, brand.slug)


async def test_the_cli_refuses_what_the_form_refuses(ctx: Any, tmp_path: Path) -> None:
    brand = await create_merchant(ctx)
    (tmp_path / "evil.css").write_text("a{color:red}\nb{background:url(//evil/x.png)}\n",
                                       encoding="utf-8")
    (tmp_path / "logo.png").write_bytes(image("GIF"))
    result = await asyncio.to_thread(
        in_process, app_env(ctx), "merchants", "theme", brand.slug,
        "--css", str(tmp_path / "evil.css"), "--logo", str(tmp_path / "logo.png"),
        "--primary", "#ffffff", "--button-text", "#777777")
    assert result.exit_code == 1
    assert "css: Line 2: url()" in result.stderr and "The file is a GIF image." in result.stderr
    assert "4.48:1" in result.stderr
    assert (await brand_row(ctx, brand.slug)).theme is None
    assert not await audit_rows(ctx, brand.slug)
    nothing = await asyncio.to_thread(in_process, app_env(ctx), "merchants", "theme",
                                      brand.slug)
    assert nothing.exit_code != 0 and "nothing to change" in nothing.stderr
