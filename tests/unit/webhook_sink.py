"""A webhook-gateway sink that keeps what it is given instead of publishing it, for the HTTP tests of the
webhook endpoints."""

from __future__ import annotations

from payments_common.broker import PublishError
from webhook_gateway.ingress.publishing import EventSink, WebhookMessage


class RecordingSink(EventSink):
    def __init__(self) -> None:
        self.messages: list[WebhookMessage] = []
        # set: every publish fails with it, as a broker that is down would
        self.failure: PublishError | None = None

    async def publish(self, message: WebhookMessage) -> None:
        if self.failure is not None:
            raise self.failure
        self.messages.append(message)
