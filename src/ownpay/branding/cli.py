"""``ownpay merchants theme SLUG …``: a brand's look and feel from the command line, through
``branding/service.py update_theme`` (the dashboard's "Look & feel" form calls it too), with
an audit row ``brand.theme_updated``.  Registered on ``ownpay merchants`` by
``merchants/cli.py``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ownpay import audit
from ownpay.cli.common import DataOpt, DbOpt, JsonOpt, fail, out, run_async, settings_from


def _read_file(path: str | None, *, text: bool = False) -> Any:
    """The bytes (or UTF-8 text) of ``path``; '' is "remove it"; None is "unchanged"."""
    if path is None or path == "":
        return path
    try:
        with open(path, "rb") as handle:
            data = handle.read(2 * 1024 * 1024)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    if not text:
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")


ThemeOpt = Annotated[str | None, typer.Option(metavar="TEXT", help="'' clears it.")]


def merchants_theme(slug: Annotated[str, typer.Argument(metavar="SLUG")],
                    logo: Annotated[str | None, typer.Option(
                        "--logo", metavar="FILE",
                        help="PNG, JPEG or WebP, at most 1 MiB; '' removes it.")] = None,
                    favicon: Annotated[str | None, typer.Option(
                        "--favicon", metavar="FILE",
                        help="PNG, JPEG, WebP or ICO; '' removes it.")] = None,
                    primary: Annotated[str | None, typer.Option(
                        "--primary", metavar="#HEX")] = None,
                    accent: Annotated[str | None, typer.Option(
                        "--accent", metavar="#HEX")] = None,
                    button_text: Annotated[str | None, typer.Option(
                        "--button-text", metavar="#HEX",
                        help="Must reach 4.5:1 on the primary colour.")] = None,
                    support_email: ThemeOpt = None, support_phone: ThemeOpt = None,
                    support_url: ThemeOpt = None,
                    footer: Annotated[str | None, typer.Option(
                        "--footer", metavar="TEXT", help="'' clears it.")] = None,
                    css: Annotated[str | None, typer.Option(
                        "--css", metavar="FILE",
                        help="Custom CSS, at most 20 KiB (sanitised); '' removes it.")] = None,
                    as_json: JsonOpt = False, database_url: DbOpt = None,
                    data_dir: DataOpt = None) -> None:
    """Set a brand's look and feel: logo, favicon, colours, support contact, footer, CSS.

    The same checks as the dashboard's "Look & feel" page (branding/service.py)."""
    from ownpay.branding.service import update_theme
    from ownpay.merchants import service

    given = {"logo": _read_file(logo), "favicon": _read_file(favicon),
             "css": _read_file(css, text=True), "primary_color": primary,
             "accent_color": accent, "button_text_color": button_text,
             "support_email": support_email, "support_phone": support_phone,
             "support_url": support_url, "footer_text": footer}
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        fail("nothing to change: give --logo, --favicon, --primary, --accent, --button-text, "
             "--support-email, --support-phone, --support-url, --footer or --css")

    async def go(ctx: Any) -> dict[str, Any]:
        async with ctx.sessions() as s, s.begin():
            m = await service.get_merchant(s, slug)
            changed = await update_theme(s, m, changes=changes)
            if changed:
                await audit.record(s, audit.cli_actor(), "brand.theme_updated",
                                   merchant_id=m.id, object_type="merchant",
                                   object_id=m.slug, details=changed)
            return {"slug": m.slug, "primary_color": m.primary_color,
                    "theme": dict(m.theme or {}), "changed": sorted(changed)}

    result = run_async(settings_from(database_url, data_dir), go)
    out(result, as_json, lambda: typer.echo(
        f"updated the look of {slug}: " + (", ".join(result["changed"]) or "nothing changed")))
