"""The receipt PDF: a pure function of its input (byte for byte), and everything it shows reads back out
of the PDF as text, the rupee sign included."""

from __future__ import annotations

import importlib.util
import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pypdf import PdfReader

from order_svc.openapi import document
from order_svc.orders.domain import Order
from order_svc.payments.domain import PaymentView
from order_svc.receipts.domain import Receipt, receipt_of
from order_svc.receipts.pdf import format_time, render
from order_svc.refunds.domain import RefundView
from payments_common import ids

PAID_AT = datetime(2026, 11, 28, 10, 48, 12, tzinfo=UTC)
ORDER_ID = "order_019ac9d4-5b1e-7c3a-9f20-6d1e8b7a4c21"
PAYMENT_ID = "pay_019ac9d4-6a02-7e11-8b3c-2f9d0c5e7a18"
GATEWAY_ID = "gw_019ac9d4-6a40-70f2-a6d5-91c3e2b8f047"
METHOD = "Visa card ending 1111, expires 12/2030"


def _receipt(**overrides: Any) -> Receipt:
    values: dict[str, Any] = {
        "merchant_id": "rzp_test_acme",
        "order_id": ORDER_ID,
        "payment_id": PAYMENT_ID,
        "gateway_payment_id": GATEWAY_ID,
        "amount": 1500,
        "currency": "INR",
        "method": METHOD,
        "paid_at": PAID_AT,
    }
    values.update(overrides)
    return Receipt(**values)


def _refund(n: int, amount: int, status: str) -> RefundView:
    return RefundView(
        id=f"rfnd_019acb11-2f3e-7d4a-b1c2-7e8f9a0b1c2{n}",
        payment_id=PAYMENT_ID,
        order_id=ORDER_ID,
        amount=amount,
        currency="INR",
        status=status,
        notes=None,
        error_code=None,
        error_description=None,
        version=1,
        created_at=PAID_AT + timedelta(days=1, hours=n),
        updated_at=PAID_AT + timedelta(days=1, hours=n),
    )


def _reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def _text(pdf: bytes) -> str:
    reader = _reader(pdf)
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_same_receipt_renders_the_same_bytes() -> None:
    refunds = (_refund(1, 500, "PROCESSED"),)
    first = render(_receipt(refunds=refunds, amount_refunded=500))
    again = render(_receipt(refunds=refunds, amount_refunded=500))
    assert first.startswith(b"%PDF-")
    assert first == again


@pytest.mark.parametrize(
    "change",
    [
        {"order_id": "order_019ac9d4-5b1e-7c3a-9f20-6d1e8b7a4c22"},
        {"amount": 1501},
        {"method": "UPI success@razorpay"},
        {"paid_at": PAID_AT + timedelta(minutes=1)},
        {"refunds": (_refund(1, 500, "PENDING"),)},
    ],
)
def test_a_different_receipt_renders_different_bytes(change: dict[str, Any]) -> None:
    assert render(_receipt(**change)) != render(_receipt())


def test_the_text_reads_back_out_of_the_pdf() -> None:
    text = _text(render(_receipt(order_receipt="INV-2026-0042")))
    for shown in (
        "rzp_test_acme",
        ORDER_ID,
        "INV-2026-0042",
        PAYMENT_ID,
        GATEWAY_ID,
        "₹15.00",
        METHOD,
        "28 Nov 2026, 10:48 UTC",
        "Total paid",
    ):
        assert shown in text, shown
    assert "Refunds" not in text  # no refund, no refunds section


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [(1500, "INR", "₹15.00"), (2599, "USD", "$25.99"), (1500, "JPY", "¥1,500"), (123456789, "EUR", "€1,234,567.89")],
)
def test_the_amount_is_formatted_for_its_currency(amount: int, currency: str, shown: str) -> None:
    assert shown in _text(render(_receipt(amount=amount, currency=currency)))


def test_every_refund_is_listed_and_only_processed_ones_are_subtracted() -> None:
    refunds = (_refund(1, 500, "PROCESSED"), _refund(2, 300, "PENDING"), _refund(3, 200, "FAILED"))
    text = _text(render(_receipt(amount=1500, refunds=refunds, amount_refunded=500)))
    for refund in refunds:
        assert refund.id in text
        assert refund.status in text
        assert format_time(refund.created_at) in text
    assert "₹5.00" in text and "₹3.00" in text and "₹2.00" in text
    assert "Refunded -₹5.00" in text
    assert "Net amount ₹10.00" in text


def test_a_merchant_name_heads_the_receipt_with_the_id_among_the_details() -> None:
    text = _text(render(_receipt(merchant_name="Acme Books")))
    assert "Acme Books" in text
    assert "Merchant ID rzp_test_acme" in text


def test_the_document_dates_are_the_payment_time_not_the_clock() -> None:
    info = _reader(render(_receipt())).metadata
    assert info is not None
    assert info["/CreationDate"] == "D:20261128104812Z"
    assert "/ModDate" not in info
    assert ORDER_ID in str(info["/Title"])


def test_the_fonts_are_embedded_subsets_with_a_unicode_map() -> None:
    """What makes the text select, copy and search: the glyphs travel with the PDF (nothing depends on the
    reader's fonts) and each maps back to its character."""
    page = _reader(render(_receipt())).pages[0]
    fonts = page["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        assert "/ToUnicode" in font
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor
        assert "DejaVuSans" in str(font["/BaseFont"])


def test_a_receipt_is_one_page() -> None:
    refunds = tuple(_refund(n, 100, "PROCESSED") for n in range(5))
    assert len(_reader(render(_receipt(refunds=refunds, amount_refunded=500, order_receipt="x" * 40))).pages) == 1


def test_characters_the_font_lacks_do_not_break_the_receipt() -> None:
    # `receipt` is the merchant's free text: whatever it holds, the receipt still renders
    text = _text(render(_receipt(order_receipt="注文 #42 😀", merchant_name="M" * 200)))
    assert "#42" in text
    assert ORDER_ID in text


def test_times_are_shown_in_utc_whatever_zone_they_come_in() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    assert format_time(datetime(2026, 11, 28, 16, 18, tzinfo=ist)) == "28 Nov 2026, 10:48 UTC"
    assert format_time(datetime(2026, 1, 5, 0, 7, tzinfo=UTC)) == "5 Jan 2026, 00:07 UTC"
    assert render(_receipt(paid_at=PAID_AT.astimezone(ist))) == render(_receipt())


def _order() -> Order:
    return Order(
        id=ids.new_id(ids.ORDER),
        merchant_id="rzp_a",
        amount=2599,
        currency="USD",
        status="PAID",
        receipt="r-7",
        notes=None,
        created_at=PAID_AT - timedelta(minutes=2),
        updated_at=PAID_AT + timedelta(seconds=1),
    )


def _payment(order: Order, **overrides: Any) -> PaymentView:
    values: dict[str, Any] = {
        "id": ids.new_id(ids.PAYMENT),
        "order_id": order.id,
        "status": "SUCCESS",
        "amount": order.amount,
        "currency": order.currency,
        "gateway_payment_id": ids.new_id(ids.GATEWAY_PAYMENT),
        "signature": "ab" * 32,
        "error_code": None,
        "error_description": None,
        "version": 2,
        "created_at": PAID_AT - timedelta(minutes=1),
        "updated_at": PAID_AT,
        "method": {"type": "card", "last4": "1111", "network": "visa", "expiryMonth": 12, "expiryYear": 2030},
    }
    values.update(overrides)
    return PaymentView(**values)


def _refund_view(payment: PaymentView, amount: int, status: str, minutes: int) -> RefundView:
    return RefundView(
        id=ids.new_id(ids.REFUND),
        payment_id=payment.id,
        order_id=payment.order_id,
        amount=amount,
        currency=payment.currency,
        status=status,
        notes=None,
        error_code="REFUND_FAILED" if status == "FAILED" else None,
        error_description=None,
        version=1,
        created_at=PAID_AT + timedelta(minutes=minutes),
        updated_at=PAID_AT + timedelta(minutes=minutes + 1),
    )


def test_a_receipt_is_made_of_the_order_and_the_payment_that_paid_it() -> None:
    order = _order()
    payment = _payment(order)
    refunds = [
        _refund_view(payment, 500, "PROCESSED", 5),
        _refund_view(payment, 99, "PENDING", 6),
        _refund_view(payment, 1000, "FAILED", 7),
    ]
    # a refund of another attempt of the order is not this payment's
    elsewhere = _refund_view(_payment(order, status="FAILED"), 300, "PROCESSED", 8)
    receipt = receipt_of(order, payment, [*refunds, elsewhere])
    assert (receipt.merchant_id, receipt.order_id, receipt.order_receipt) == ("rzp_a", order.id, "r-7")
    assert (receipt.payment_id, receipt.gateway_payment_id) == (payment.id, payment.gateway_payment_id)
    assert (receipt.amount, receipt.currency) == (2599, "USD")
    assert receipt.method == METHOD
    # settled time of the payment, not the order row's last write
    assert receipt.paid_at == PAID_AT
    assert [(line.id, line.amount, line.status, line.created_at) for line in receipt.refunds] == [
        (r.id, r.amount, r.status, r.created_at) for r in refunds
    ]
    # only what reached the customer: the pending refund is listed, not subtracted
    assert receipt.amount_refunded == 500
    assert receipt.net_amount == 2099


def test_an_attempt_without_a_method_says_so() -> None:
    order = _order()
    receipt = receipt_of(order, _payment(order, method=None))
    assert receipt.method == "Not specified"
    assert receipt.refunds == ()
    assert receipt.amount_refunded == 0


def test_the_receipt_route_is_documented_as_a_pdf() -> None:
    operation = document()["paths"]["/orders/{order_id}/receipt.pdf"]["get"]
    ok = operation["responses"]["200"]
    assert ok["content"] == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    assert {"ETag", "Cache-Control", "Content-Disposition"} <= set(ok["headers"])
    assert {"401", "404", "409", "429"} <= set(operation["responses"])
    assert "ORDER_NOT_PAID" in operation["responses"]["409"]["description"]


def _example_script() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "receipt-example.py"
    spec = importlib.util.spec_from_file_location("receipt_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_in_the_docs_is_what_the_renderer_makes_now() -> None:
    """README.md shows docs/images/receipt-example.png, drawn from the committed PDF: when the renderer
    changes, `.venv/bin/python scripts/receipt-example.py` redraws both, or this fails."""
    example = _example_script()
    assert example.PDF.read_bytes() == render(example.SAMPLE), "run scripts/receipt-example.py"
    assert example.PNG.read_bytes().startswith(b"\x89PNG")
    text = _text(example.PDF.read_bytes())
    assert "Visa card ending 1111" in text and example.SAMPLE.refunds[0].id in text
