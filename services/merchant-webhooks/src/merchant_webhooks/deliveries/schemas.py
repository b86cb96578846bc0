"""The deliveries' answers, rendered into the internal API's models (`payments_common.merchant_webhooks`)."""

from __future__ import annotations

from merchant_webhooks.deliveries.service import DeliveryLog
from payments_common.merchant_webhooks import Delivery, DeliveryList


def delivery(shown: DeliveryLog) -> Delivery:
    record = shown.delivery
    return Delivery.model_validate(
        {
            "id": record.id,
            "merchantId": record.merchant_id,
            "endpointId": record.endpoint_id,
            "eventId": record.event_id,
            "event": record.event,
            "status": record.status,
            "attempts": [
                {"at": a.at, "statusCode": a.status_code, "latencyMs": a.latency_ms, "error": a.error}
                for a in shown.attempts
            ],
            # while an attempt is in flight the due time is its claim's lease, not a planned retry
            "nextAttemptAt": record.next_attempt_at if record.status == "pending" else None,
            "createdAt": record.created_at,
        }
    )


def delivery_list(shown: list[DeliveryLog]) -> DeliveryList:
    return DeliveryList(items=[delivery(d) for d in shown])
