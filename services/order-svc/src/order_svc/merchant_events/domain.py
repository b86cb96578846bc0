"""Which transition is which merchant event, the event's id, and its shape. Pure: no I/O.

An event's id is derived from what it reports (the entity and the event's name), never drawn at random:
a transition is applied once, but if it were ever recorded again it would still carry the same id, and a
merchant deduplicating by `X-Razorpay-Event-Id` would see it once."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from payments_common.events import MerchantEvent, MerchantEventName

EVENT_ID_PREFIX = "evt_"
# 20 base62 characters: 119 bits of SHA-256, well within the contract's 14 to 32
EVENT_ID_LENGTH = 20
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

PAYMENT_AUTHORIZED: MerchantEventName = "payment.authorized"
PAYMENT_CAPTURED: MerchantEventName = "payment.captured"
PAYMENT_FAILED: MerchantEventName = "payment.failed"
ORDER_PAID: MerchantEventName = "order.paid"
REFUND_CREATED: MerchantEventName = "refund.created"
REFUND_PROCESSED: MerchantEventName = "refund.processed"
REFUND_FAILED: MerchantEventName = "refund.failed"
PAYMENT_LINK_PAID: MerchantEventName = "payment_link.paid"
PAYMENT_LINK_CANCELLED: MerchantEventName = "payment_link.cancelled"

# what each event's payload holds, in Razorpay's order
CONTAINS: Mapping[str, tuple[str, ...]] = {
    PAYMENT_AUTHORIZED: ("payment",),
    PAYMENT_CAPTURED: ("payment",),
    PAYMENT_FAILED: ("payment",),
    ORDER_PAID: ("payment", "order"),
    REFUND_CREATED: ("refund", "payment"),
    REFUND_PROCESSED: ("refund", "payment"),
    REFUND_FAILED: ("refund", "payment"),
    PAYMENT_LINK_PAID: ("payment_link", "order", "payment"),
    PAYMENT_LINK_CANCELLED: ("payment_link",),
}


def event_id(entity_id: str, name: str) -> str:
    """`evt_` + 20 base62 characters of SHA-256(name, entity id): one id per (entity, event), ever."""
    number = int.from_bytes(hashlib.sha256(f"{name}\x00{entity_id}".encode()).digest(), "big")
    chars = []
    for _ in range(EVENT_ID_LENGTH):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return EVENT_ID_PREFIX + "".join(chars)


def payment_events(before: str | None, after: str, *, manual_capture: bool) -> list[MerchantEventName]:
    """The events of a payment attempt's move from `before` (None: not seen yet) to `after`.

    A manually captured payment is authorised before it is captured; should its AUTHORIZED snapshot be
    overtaken by the capture's SUCCESS, the authorisation is still told, once, before the capture."""
    if before == after:
        return []
    names: list[MerchantEventName] = []
    authorised = after == "AUTHORIZED" or (after == "SUCCESS" and manual_capture)
    if authorised and before not in ("AUTHORIZED", "SUCCESS"):
        names.append(PAYMENT_AUTHORIZED)
    if after == "SUCCESS":
        names.append(PAYMENT_CAPTURED)
    elif after == "FAILED":
        names.append(PAYMENT_FAILED)
    return names


def refund_events(before: str | None, after: str) -> list[MerchantEventName]:
    """The events of a refund's move from `before` (None: not seen yet) to `after`: a refund first seen
    already settled is created and settled in the one change."""
    if before == after:
        return []
    names: list[MerchantEventName] = [REFUND_CREATED] if before is None else []
    if after == "PROCESSED":
        names.append(REFUND_PROCESSED)
    elif after == "FAILED":
        names.append(REFUND_FAILED)
    return names


def merchant_event(
    name: MerchantEventName, entity_id: str, merchant_id: str, entities: Mapping[str, BaseModel], at: datetime
) -> MerchantEvent:
    """The event `name` of the entity `entity_id`: its payload is each contained entity as `/v1` shows it."""
    contains = CONTAINS[name]
    payload: dict[str, dict[str, Any]] = {kind: {"entity": entities[kind].model_dump(mode="json")} for kind in contains}
    return MerchantEvent(
        id=event_id(entity_id, name),
        merchant_id=merchant_id,
        event=name,
        contains=list(contains),
        payload=payload,
        created_at=int(at.timestamp()),
    )
