"""A fake of the admin APIs the console reads (`payments_console.admin_api.client.AdminApi`), holding a few
payments, dead letters, anomalies and webhook deliveries in memory: the console's unit and session tests run
without the services. Actions change its state as the real ones would (a requeued letter leaves the listing,
a redelivered delivery is pending again)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from payments_common.admin_api.analytics import OrderAnalytics, PaymentAnalytics
from payments_common.admin_api.operations import (
    DeadLetterGroup,
    DeadLetterListing,
    DeadLetterMessages,
    DeadLetterQueue,
    OperationOutcome,
    OperationResult,
    OutboxStatus,
    QueueDepths,
    Readiness,
    ReconcileLast,
)
from payments_common.admin_api.payments import (
    Anomalies,
    AnomalyView,
    PaymentDetail,
    PaymentRow,
    PaymentSearch,
    ResolveResult,
    TrailEntry,
)
from payments_common.merchant_webhooks import Delivery, DeliveryList
from payments_console.admin_api.client import AdminApiError, NotFound
from payments_console.admin_api.schemas import DeadLetter, OrderView, Selection

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
QUEUE = "payment-svc.webhooks"


def payment_row(payment_id: str = "pay_1", status: str = "SUCCESS", **overrides: object) -> PaymentRow:
    data: dict[str, object] = {
        "id": payment_id,
        "orderId": "order_1",
        "merchantId": "acme",
        "amount": 50000,
        "currency": "INR",
        "method": "card",
        "status": status,
        "gatewayPaymentId": "gw_1",
        "errorCode": None,
        "errorDescription": None,
        "settledBy": "webhook",
        "amountRefunded": 0,
        "createdAt": NOW,
        "updatedAt": NOW,
    }
    data.update(overrides)
    return PaymentRow.model_validate(data)


def delivery(delivery_id: str, status: str, attempts: list[dict[str, object]], **overrides: object) -> Delivery:
    data: dict[str, object] = {
        "id": delivery_id,
        "merchantId": "acme",
        "endpointId": "whep_1",
        "eventId": f"evt_{delivery_id}",
        "event": "payment.captured",
        "status": status,
        "attempts": attempts,
        "nextAttemptAt": NOW + timedelta(seconds=30) if status == "pending" else None,
        "createdAt": NOW,
    }
    data.update(overrides)
    return Delivery.model_validate(data)


def dead_letter(message_id: str, reason: str = "UNKNOWN_PAYMENT") -> DeadLetter:
    return DeadLetter.model_validate(
        {
            "id": message_id,
            "queue": f"{QUEUE}.dlq",
            "origin_queue": QUEUE,
            "reason": reason,
            "error_type": "PermanentError",
            "error": "no such payment <script>",
            "attempts": 3,
            "first_failure_at": NOW,
            "last_failure_at": NOW,
            "age_seconds": 42.0,
            "requeue_count": 0,
            "last_requeued_at": None,
            "content_type": "application/json",
            "correlation_id": "req_1",
            "type": "payment.webhook",
            "headers": {"x-death": "…", "retry-attempt": 3},
            "body": {"paymentId": "pay_1"},
            "body_encoding": "json",
        }
    )


class FakeAdminApi:
    def __init__(self) -> None:
        self.payments = {"pay_1": payment_row(), "pay_2": payment_row("pay_2", "FAILED", errorCode="CARD_DECLINED")}
        self.letters = [dead_letter("msg_1"), dead_letter("msg_2"), dead_letter("msg_3", "RETRIES_EXHAUSTED:X")]
        self.stored_anomalies = [
            AnomalyView.model_validate(
                {
                    "id": 7,
                    "paymentId": "pay_2",
                    "orderId": "order_1",
                    "kind": "SUCCESS_AFTER_FAILED",
                    "source": "webhook",
                    "eventId": "evt_9",
                    "detail": {"reported": "SUCCESS", "kept": "FAILED"},
                    "createdAt": NOW,
                    "resolvedAt": None,
                    "resolution": None,
                }
            )
        ]
        self.deliveries = [
            delivery("whdl_3", "pending", [{"at": NOW, "statusCode": 503, "latencyMs": 41, "error": "<b>busy</b>"}]),
            delivery("whdl_2", "delivered", [{"at": NOW, "statusCode": 200, "latencyMs": 12}], merchantId="globex",
                     endpointId="whep_2", event="order.paid"),
            delivery("whdl_1", "failed", [{"at": NOW, "error": "refused: 10.0.0.1 is a private address"}]),
        ]  # fmt: skip
        self.fail_analytics = False
        self.calls: list[tuple[str, object]] = []

    async def payment_analytics(
        self, since: datetime, until: datetime, bucket: str, merchant: str | None
    ) -> PaymentAnalytics:
        self.calls.append(("payment_analytics", (since, until, bucket, merchant)))
        if self.fail_analytics:
            raise AdminApiError("payment-svc", None, "unreachable (ClientConnectorError)")
        step = timedelta(minutes=1) if bucket == "minute" else timedelta(hours=1)
        return PaymentAnalytics.model_validate(
            {
                "from": since,
                "to": until,
                "merchant": merchant,
                "bucket": bucket,
                "attempts": {"attempted": 10, "succeeded": 7, "failed": 2, "pending": 1},
                "successRate": 0.7,
                "paid": [{"currency": "INR", "count": 7, "amount": 350000}],
                "failureReasons": [{"code": "CARD_DECLINED", "count": 2}],
                "methods": [
                    {"method": "card", "attempted": 6, "succeeded": 4},
                    {"method": "upi", "attempted": 4, "succeeded": 3},
                ],
                "refunds": {
                    "count": 2,
                    "pending": 1,
                    "processed": 1,
                    "failed": 0,
                    "amounts": [{"currency": "INR", "amount": 20000, "pendingAmount": 10000}],
                },
                "settleSeconds": {"count": 9, "p50": 1.25, "p95": 3.5},
                "series": [{"at": since + step * i, "attempted": 1, "succeeded": 1, "failed": 0} for i in range(3)],
            }
        )

    async def order_analytics(
        self, since: datetime, until: datetime, bucket: str, merchant: str | None
    ) -> OrderAnalytics:
        return OrderAnalytics.model_validate(
            {
                "from": since,
                "to": until,
                "merchant": merchant,
                "bucket": bucket,
                "orders": 8,
                "paid": 6,
                "conversion": 0.75,
                "series": [{"at": since, "orders": 8, "paid": 6}],
            }
        )

    async def search_payments(self, query: Mapping[str, str]) -> PaymentSearch:
        self.calls.append(("search_payments", dict(query)))
        ident = query.get("id")
        found = [p for p in self.payments.values() if not ident or ident in (p.id, p.orderId, p.gatewayPaymentId)]
        return PaymentSearch(payments=found)

    async def payment(self, payment_id: str) -> PaymentDetail:
        if payment_id not in self.payments:
            raise NotFound("payment-svc", 404, "no such payment")
        trail = TrailEntry(id=1, kind="initiated", source="api", eventId=None, detail={}, createdAt=NOW)
        settled = TrailEntry(id=2, kind="succeeded", source="webhook", eventId="evt_1", detail={}, createdAt=NOW)
        return PaymentDetail(
            payment=self.payments[payment_id],
            attempts=list(self.payments.values()),
            refunds=[],
            events=[trail, settled],
            anomalies=[a for a in self.stored_anomalies if a.paymentId == payment_id],
        )

    async def order(self, order_id: str) -> OrderView:
        return OrderView(
            id=order_id, merchantId="acme", amount=50000, currency="INR", status="PAID", receipt="r-1",
            createdAt=NOW, updatedAt=NOW,
        )  # fmt: skip

    async def dead_letters(self) -> DeadLetterListing:
        groups: dict[tuple[str, str], list[DeadLetter]] = {}
        for letter in self.letters:
            groups.setdefault((letter.origin_queue, letter.reason), []).append(letter)
        return DeadLetterListing(
            queues=[DeadLetterQueue(queue=f"{QUEUE}.dlq", origin_queue=QUEUE, exists=True,
                                    messages=len(self.letters), scanned=len(self.letters))],
            groups=[DeadLetterGroup(origin_queue=q, reason=r, count=len(m), oldest_age_seconds=42.0)
                    for (q, r), m in sorted(groups.items())],
            messages=list(self.letters),
            truncated=False,
        )  # fmt: skip

    async def dead_letter(self, message_id: str) -> DeadLetterMessages:
        found = [letter for letter in self.letters if letter.id == message_id]
        if not found:
            raise NotFound("payment-svc", 404, "no dead letter with this id")
        return DeadLetterMessages(messages=found)

    def _select(self, selection: Selection) -> list[DeadLetter]:
        return [
            letter
            for letter in self.letters
            if (selection.all or not selection.ids or letter.id in selection.ids)
            and (not selection.queue or letter.origin_queue == selection.queue)
            and (not selection.reason or letter.reason == selection.reason)
        ]

    async def _operate(self, action: str, selection: Selection) -> OperationResult:
        self.calls.append((action, selection))
        chosen = self._select(selection)
        if not selection.dryRun:
            self.letters = [letter for letter in self.letters if letter not in chosen]
        outcomes = [
            OperationOutcome(id=m.id, queue=m.queue, origin_queue=m.origin_queue, reason=m.reason,
                             status="would " + action if selection.dryRun else action + "d", error=None)
            for m in chosen
        ]  # fmt: skip
        return OperationResult(
            action=action, dry_run=selection.dryRun, selected=len(chosen), succeeded=len(chosen), failed=0,
            missing_ids=[], messages=outcomes,
        )  # fmt: skip

    async def requeue(self, selection: Selection) -> OperationResult:
        return await self._operate("requeue", selection)

    async def purge(self, selection: Selection) -> OperationResult:
        return await self._operate("purge", selection)

    async def anomalies(self, *, include_resolved: bool) -> Anomalies:
        return Anomalies(anomalies=[a for a in self.stored_anomalies if include_resolved or a.resolvedAt is None])

    async def resolve_anomaly(self, anomaly_id: int, operator: str, action: str, note: str) -> ResolveResult:
        self.calls.append(("resolve_anomaly", (anomaly_id, operator, action, note)))
        for n, anomaly in enumerate(self.stored_anomalies):
            if anomaly.id == anomaly_id:
                if anomaly.resolvedAt is not None:
                    raise AdminApiError("payment-svc", 409, "409: already resolved")
                refund = "rfnd_1" if action == "refund" else None
                resolved = anomaly.model_copy(
                    update={"resolvedAt": NOW, "resolution": action, "resolvedBy": operator,
                            "resolutionNote": note, "refundId": refund}
                )  # fmt: skip
                self.stored_anomalies[n] = resolved
                return ResolveResult(anomaly=resolved, refundId=refund)
        raise NotFound("payment-svc", 404, "no such anomaly")

    async def outbox(self) -> OutboxStatus:
        return OutboxStatus.model_validate(
            {"schemas": [{"schema": "payments", "exists": True, "unpublished": 3, "oldest_unpublished_age_seconds": 2.5,
                          "retrying": 0, "published_last_minute": 40}]}
        )  # fmt: skip

    async def queues(self) -> QueueDepths:
        raise NotFound("payment-svc", 404, "not found")

    async def reconcile_last(self) -> ReconcileLast:
        return ReconcileLast(lastRun=None)

    async def webhook_deliveries(self, query: Mapping[str, str]) -> DeliveryList:
        self.calls.append(("webhook_deliveries", dict(query)))
        fields = {"status": "status", "merchant": "merchantId", "endpoint": "endpointId", "event": "eventId"}
        return DeliveryList(
            items=[
                d
                for d in self.deliveries
                if all(getattr(d, field) == query[name] for name, field in fields.items() if name in query)
            ][: int(query.get("limit", "25"))]
        )

    async def webhook_delivery(self, delivery_id: str) -> Delivery:
        for found in self.deliveries:
            if found.id == delivery_id:
                return found
        raise NotFound("merchant-webhooks", 404, "webhook delivery not found")

    async def redeliver_webhook(self, delivery_id: str) -> Delivery:
        self.calls.append(("redeliver_webhook", delivery_id))
        found = await self.webhook_delivery(delivery_id)
        again = found.model_copy(update={"status": "pending", "nextAttemptAt": NOW})
        self.deliveries = [again if d.id == delivery_id else d for d in self.deliveries]
        return again

    async def readiness(self, service: str) -> Readiness:
        if service == "mock-gateway":
            return Readiness(service=service, state="unknown", reason="no /readyz on this service")
        return Readiness(service=service, state="ready", reason="all checks pass")
