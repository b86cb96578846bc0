"""A paid order's receipt as a PDF: a pure function of `Receipt`, so one order always gives the same bytes.

Nothing of the moment of rendering goes in: the document's date is the payment's settlement time and
its /ID is fpdf2's hash of the content, so two renders of one receipt are byte-identical (the ETag is a
hash of them). Text is set in DejaVu Sans, shipped with the service in `fonts/` (it has the rupee sign,
which the PDF core fonts lack), embedded as a subset with a ToUnicode map so the text copies, and reads,
back out of the PDF.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from fpdf import FPDF, FontFace
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.table import Row, Table

from order_svc.receipts.domain import Receipt
from payments_common.money import format_amount

# shipped with the service, in the package's `fonts/`
FONTS_DIR: Final = Path(__file__).parent.parent / "fonts"
FAMILY: Final = "DejaVuSans"

# spelled out rather than strftime's %b, which follows the process locale
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_INK: Final = (31, 41, 55)
_MUTED: Final = (107, 114, 128)
_RULE: Final = (229, 231, 235)
_BAND: Final = (24, 39, 75)
_BAND_MUTED: Final = (186, 198, 222)
_SHADE: Final = (243, 244, 246)
_PAID: Final = (22, 163, 74)
_MARGIN: Final = 18.0


def format_time(moment: datetime) -> str:
    """`28 Nov 2026, 10:48 UTC`: the same for every reader, wherever the service runs."""
    utc = moment.astimezone(UTC)
    return f"{utc.day} {_MONTHS[utc.month - 1]} {utc.year}, {utc:%H:%M} UTC"


def render(receipt: Receipt) -> bytes:
    pdf = _document(receipt)
    _header(pdf, receipt)
    _amount_paid(pdf, receipt)
    _details(pdf, receipt)
    if receipt.refunds:
        _refunds(pdf, receipt)
    _totals(pdf, receipt)
    _footer(pdf, receipt)
    return bytes(pdf.output())


def _document(receipt: Receipt) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FAMILY, "", str(FONTS_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS_DIR / "DejaVuSans-Bold.ttf"))
    # the settlement time, not the wall clock, which would make every render differ (fpdf2 writes no ModDate)
    pdf.set_creation_date(receipt.paid_at.astimezone(UTC))
    pdf.set_title(f"Receipt for order {receipt.order_id}")
    pdf.set_subject(f"Payment {receipt.payment_id}")
    pdf.set_author(receipt.merchant_name or receipt.merchant_id)
    pdf.set_creator("order-svc")
    pdf.set_lang("en")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN)
    pdf.add_page()
    return pdf


def _text(pdf: FPDF, size: float, color: tuple[int, int, int] = _INK, *, bold: bool = False) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.set_text_color(*color)


def _header(pdf: FPDF, receipt: Receipt) -> None:
    band_height = 34.0
    pdf.set_fill_color(*_BAND)
    pdf.rect(0, 0, pdf.w, band_height, style="F")
    pdf.set_xy(_MARGIN, 9)
    _text(pdf, 8.5, _BAND_MUTED)
    pdf.cell(pdf.epw * 0.55, 5, "Receipt from", new_x=XPos.LEFT, new_y=YPos.NEXT)
    _text(pdf, 17, (255, 255, 255), bold=True)
    pdf.cell(pdf.epw * 0.55, 9, _fit(pdf, receipt.merchant_name or receipt.merchant_id, pdf.epw * 0.55))
    pdf.set_xy(_MARGIN, 9)
    _text(pdf, 8.5, _BAND_MUTED)
    pdf.cell(pdf.epw, 5, f"Order {receipt.order_id}", align=Align.R, new_x=XPos.LEFT, new_y=YPos.NEXT)
    _text(pdf, 13, (255, 255, 255), bold=True)
    pdf.cell(pdf.epw, 9, "Payment receipt", align=Align.R)
    pdf.set_xy(_MARGIN, band_height + 10)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """`text` cut short with an ellipsis where it would run past `width` in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _amount_paid(pdf: FPDF, receipt: Receipt) -> None:
    top = pdf.get_y()
    _text(pdf, 9, _MUTED)
    pdf.cell(0, 5, "Amount paid", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _text(pdf, 24, bold=True)
    pdf.cell(0, 12, format_amount(receipt.amount, receipt.currency), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _text(pdf, 9.5, _MUTED)
    pdf.cell(0, 6, f"Paid on {format_time(receipt.paid_at)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    # the status as a badge on the right, level with the amount
    badge_width, badge_height = 22.0, 7.0
    pdf.set_fill_color(*_PAID)
    pdf.rect(pdf.w - _MARGIN - badge_width, top + 6, badge_width, badge_height, style="F", round_corners=True)
    pdf.set_xy(pdf.w - _MARGIN - badge_width, top + 6)
    _text(pdf, 9, (255, 255, 255), bold=True)
    pdf.cell(badge_width, badge_height, "PAID", align=Align.C)
    pdf.set_xy(_MARGIN, bottom + 6)


def _section(pdf: FPDF, title: str) -> None:
    _text(pdf, 10.5, bold=True)
    pdf.cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*_INK)
    pdf.set_line_width(0.4)
    pdf.line(_MARGIN, pdf.get_y(), pdf.w - _MARGIN, pdf.get_y())
    pdf.ln(1.5)


def _details(pdf: FPDF, receipt: Receipt) -> None:
    rows: list[tuple[str, str]] = []
    if receipt.merchant_name:
        rows.append(("Merchant ID", receipt.merchant_id))
    rows.append(("Order ID", receipt.order_id))
    if receipt.order_receipt:
        rows.append(("Order reference", receipt.order_receipt))
    rows.append(("Payment ID", receipt.payment_id))
    if receipt.gateway_payment_id:
        rows.append(("Gateway payment ID", receipt.gateway_payment_id))
    rows += [
        ("Payment method", receipt.method),
        ("Paid at", format_time(receipt.paid_at)),
        ("Amount", f"{format_amount(receipt.amount, receipt.currency)} ({receipt.currency})"),
    ]
    _section(pdf, "Payment details")
    _text(pdf, 9.5)
    _table_lines(pdf)
    with _table(pdf, (32, 68), first_row_as_headings=False) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label, style=FontFace(color=_MUTED))
            row.cell(value)
    pdf.ln(7)


def _table(pdf: FPDF, col_widths: tuple[int, ...], **options: Any) -> AbstractContextManager[Table]:
    """A table of the receipt's look: horizontal rules, left-aligned, the page's width."""
    return pdf.table(
        col_widths=col_widths,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        text_align=Align.L,
        line_height=5.5,
        padding=(1.6, 1.5),
        width=pdf.epw,
        **options,
    )


def _table_lines(pdf: FPDF) -> None:
    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.2)
    # cells take the current fill colour, which the badge above left green
    pdf.set_fill_color(255, 255, 255)


def _refunds(pdf: FPDF, receipt: Receipt) -> None:
    _section(pdf, "Refunds")
    _text(pdf, 8)
    _table_lines(pdf)
    heading = FontFace(family=FAMILY, emphasis="BOLD", color=_MUTED, fill_color=_SHADE, size_pt=8)
    with _table(pdf, (47, 26, 14, 13), headings_style=heading) as table:
        _refund_row(table.row(), ("Refund ID", "Date", "Status", "Amount"))
        for refund in receipt.refunds:
            amount = format_amount(refund.amount, receipt.currency)
            _refund_row(table.row(), (refund.id, format_time(refund.created_at), refund.status, amount))
    pdf.ln(7)


def _refund_row(row: Row, cells: tuple[str, str, str, str]) -> None:
    *texts, amount = cells
    for text in texts:
        row.cell(text)
    row.cell(amount, align=Align.R)


def _totals(pdf: FPDF, receipt: Receipt) -> None:
    lines: list[tuple[str, str, bool]] = [("Amount paid", format_amount(receipt.amount, receipt.currency), False)]
    if receipt.refunds:
        lines += [
            ("Refunded", format_amount(-receipt.amount_refunded, receipt.currency), False),
            ("Net amount", format_amount(receipt.net_amount, receipt.currency), True),
        ]
    else:
        lines[0] = ("Total paid", lines[0][1], True)
    label_width, value_width = 40.0, 34.0
    left = pdf.w - _MARGIN - label_width - value_width
    for label, value, strong in lines:
        if strong:
            pdf.set_draw_color(*_INK)
            pdf.set_line_width(0.3)
            pdf.line(left, pdf.get_y() + 0.5, pdf.w - _MARGIN, pdf.get_y() + 0.5)
            pdf.ln(1.5)
        pdf.set_x(left)
        _text(pdf, 11 if strong else 9.5, _INK if strong else _MUTED, bold=strong)
        pdf.cell(label_width, 7, label)
        _text(pdf, 11 if strong else 9.5, bold=strong)
        pdf.cell(value_width, 7, value, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _footer(pdf: FPDF, receipt: Receipt) -> None:
    # at the foot of the page, unless the content already reaches there
    pdf.set_y(max(pdf.get_y() + 10, pdf.h - _MARGIN - 18))
    # a long merchant name may run into the bottom margin rather than start a page of its own
    pdf.set_auto_page_break(auto=False)
    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.3)
    pdf.line(_MARGIN, pdf.get_y(), pdf.w - _MARGIN, pdf.get_y())
    pdf.ln(3)
    _text(pdf, 8, _MUTED)
    merchant = receipt.merchant_name or receipt.merchant_id
    pdf.multi_cell(
        0,
        4.2,
        f"This receipt confirms the payment of order {receipt.order_id} to {merchant}.\n"
        f"Questions? Contact the merchant, quoting payment ID {receipt.payment_id}.",
        align=Align.L,
    )
