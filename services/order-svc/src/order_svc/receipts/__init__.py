"""Receipts: a paid order's receipt as a PDF (`GET /orders/{order_id}/receipt.pdf`), the same bytes
every time it is asked for."""
