"""`GET /orders/{order_id}/receipt.pdf`: the PDF, with the headers that let it be cached."""

from __future__ import annotations

import hashlib

from aiohttp import web

from order_svc.access.http import merchant_of
from order_svc.deps import DEPS
from order_svc.receipts.service import receipt_pdf
from payments_common.openapi import Route

PATH = "/orders/{order_id}/receipt.pdf"


async def read_receipt(request: web.Request) -> web.Response:
    receipt, body = await receipt_pdf(request.app[DEPS], merchant_of(request), request.match_info["order_id"])
    response = web.Response(
        body=body,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="receipt-{receipt.order_id}.pdf"',
            "Cache-Control": "private",
        },
    )
    # the same order renders the same bytes, so their hash names this version of the receipt
    response.etag = hashlib.sha256(body).hexdigest()
    return response


# a PDF, not a JSON model: documented apart (`order_svc.openapi`)
ROUTES = [Route("GET", PATH, read_receipt, answer=None)]
