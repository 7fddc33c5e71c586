"""An invoice as a PDF, made on the server with fpdf2 (docs/invoices.md#the-pdf).

Text is shaped with HarfBuzz (``uharfbuzz``, ``set_text_shaping``) so Bangla's conjuncts and
vowel signs are laid out right, in Noto Sans with Noto Sans Bengali as the fallback font:
each run of text is set in the first font that has its glyphs, so Latin and Bengali mix on
one line.  The fonts come from Debian's ``fonts-noto-core`` (``make install-system``);
without them the PDF is not offered (:func:`available`) rather than drawn with missing
glyphs.  Fonts are embedded as subsets; the PDF's text can be copied and searched.
"""

from __future__ import annotations

import functools
from pathlib import Path

from fpdf import FPDF

from ownpay import money
from ownpay.invoices import totals
from ownpay.invoices.models import Invoice

FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONTS = {("NotoSans", ""): "NotoSans-Regular.ttf", ("NotoSans", "B"): "NotoSans-Bold.ttf",
         ("NotoSansBengali", ""): "NotoSansBengali-Regular.ttf",
         ("NotoSansBengali", "B"): "NotoSansBengali-Bold.ttf"}
STATUS_WORDS = {"open": "Due", "paid": "Paid", "void": "Void",
                "uncollectible": "Uncollectible", "draft": "Draft"}


@functools.cache
def available() -> bool:
    return all((FONT_DIR / name).is_file() for name in FONTS.values())


def _amount(minor: int, currency: str) -> str:
    return money.format_plain(minor, currency)


def render(invoice: Invoice, *, brand_name: str, figures: totals.Totals) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_creator("OwnPay")
    for (family, style), name in FONTS.items():
        pdf.add_font(family, style=style, fname=str(FONT_DIR / name))
    pdf.set_fallback_fonts(["NotoSansBengali"])
    pdf.set_text_shaping(True)
    pdf.add_page()
    c = invoice.currency

    pdf.set_font("NotoSans", style="B", size=18)
    pdf.cell(text=brand_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("NotoSans", size=11)
    pdf.cell(text=f"Invoice {invoice.number} · {STATUS_WORDS[invoice.status]}",
             new_x="LMARGIN", new_y="NEXT")
    if invoice.due_date:
        pdf.cell(text=f"Due date: {invoice.due_date.isoformat()}", new_x="LMARGIN",
                 new_y="NEXT")
    if invoice.customer_name:  # the name only: whoever has the link reads the PDF
        pdf.cell(text=f"Bill to: {invoice.customer_name}", new_x="LMARGIN", new_y="NEXT")
    if invoice.mode == "test":
        pdf.cell(text="TEST MODE: not a real invoice", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    with pdf.table(col_widths=(70, 16, 28, 18, 28), text_align=(
            "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"), markdown=False) as table:
        table.row(("Description", "Qty", "Unit price", "Tax %", "Amount"))
        for line, t in zip(invoice.lines, figures.lines, strict=True):
            table.row((line["description"], line["quantity"], line["unit_price"],
                       line.get("tax_rate") or "", _amount(t.net_minor, c)))
    pdf.ln(4)
    rows = [("Subtotal", figures.subtotal_minor)]
    if figures.discount_minor:
        rows.append(("Discount", -figures.discount_minor))
    if figures.line_tax_minor:
        rows.append(("Tax on lines", figures.line_tax_minor))
    if figures.tax_minor:
        rows.append((f"Tax ({invoice.tax_rate} %)", figures.tax_minor))
    for label, minor in rows:
        pdf.cell(w=140, text=label, align="R")
        pdf.cell(w=40, text=_amount(minor, c), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("NotoSans", style="B", size=12)
    pdf.cell(w=140, text="Total", align="R")
    pdf.cell(w=40, text=_amount(invoice.total_minor, c), align="R", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("NotoSans", size=11)
    if invoice.amount_paid_minor:
        pdf.cell(w=140, text="Paid", align="R")
        pdf.cell(w=40, text=_amount(invoice.amount_paid_minor, c), align="R",
                 new_x="LMARGIN", new_y="NEXT")
    if invoice.notes:
        pdf.ln(6)
        pdf.multi_cell(w=0, text=invoice.notes, markdown=False)
    return bytes(pdf.output())
