"""Render the example receipt that README.md shows: docs/images/receipt-example.pdf and, drawn from that
PDF, docs/images/receipt-example.png.

    .venv/bin/python scripts/receipt-example.py

A sample INR order paid by card, with one partial refund, through the same renderer as
`GET /orders/{order_id}/receipt.pdf`. The PDF is a pure function of the sample, so running this again
rewrites the same bytes; tests/unit/test_receipt_pdf.py fails when the committed PDF is out of date.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from order_svc.receipts.domain import Receipt
from order_svc.receipts.pdf import render
from order_svc.refunds.domain import RefundView
from payments_common.methods import describe

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
PDF = IMAGES / "receipt-example.pdf"
PNG = IMAGES / "receipt-example.png"
# pixels per PDF point: an A4 page becomes 1191 x 1684 pixels, sharp at the width README shows it
SCALE = 2.0

SAMPLE = Receipt(
    # API keys carry no display name: a receipt names the merchant by its key id, as the service does
    merchant_id="rzp_test_acme",
    order_id="order_019ac9d4-5b1e-7c3a-9f20-6d1e8b7a4c21",
    order_receipt="INV-2026-0042",
    payment_id="pay_019ac9d4-6a02-7e11-8b3c-2f9d0c5e7a18",
    gateway_payment_id="gw_019ac9d4-6a40-70f2-a6d5-91c3e2b8f047",
    amount=249900,
    currency="INR",
    method=describe({"type": "card", "last4": "1111", "network": "visa", "expiryMonth": 12, "expiryYear": 2030}),
    paid_at=datetime(2026, 11, 28, 10, 48, 12, tzinfo=UTC),
    refunds=(
        RefundView(
            id="rfnd_019acb11-2f3e-7d4a-b1c2-7e8f9a0b1c2d",
            payment_id="pay_019ac9d4-6a02-7e11-8b3c-2f9d0c5e7a18",
            order_id="order_019ac9d4-5b1e-7c3a-9f20-6d1e8b7a4c21",
            amount=50000,
            currency="INR",
            status="PROCESSED",
            notes=None,
            error_code=None,
            error_description=None,
            version=2,
            created_at=datetime(2026, 11, 29, 9, 15, 40, tzinfo=UTC),
            updated_at=datetime(2026, 11, 29, 9, 15, 42, tzinfo=UTC),
        ),
    ),
    amount_refunded=50000,
)


def main() -> int:
    # pdfium draws the PDF as a viewer would; a dev dependency, so imported only here
    import pypdfium2

    pdf = render(SAMPLE)
    IMAGES.mkdir(parents=True, exist_ok=True)
    PDF.write_bytes(pdf)
    document = pypdfium2.PdfDocument(pdf)
    try:
        document[0].render(scale=SCALE).to_pil().save(PNG, optimize=True)
    finally:
        document.close()
    print(f"wrote {PDF} and {PNG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
