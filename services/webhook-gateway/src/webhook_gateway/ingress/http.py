"""The steps every webhook view takes, in order: verify the Standard Webhooks signature over the exact
body, check the optional digest, validate the body, publish the envelope durably, then answer. The
ingress middlewares (`limits.py`: allowlist, rate limits) run around them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from payments_common import events
from payments_common.broker import PublishError
from payments_common.errors import INVALID_SIGNATURE, SERVICE_UNAVAILABLE, ApiError
from payments_common.http import CORRELATION_ID, parse_model, read_json_object
from payments_common.logging import bound, get_logger
from payments_common.signatures import WebhookVerificationError, verify_webhook
from webhook_gateway.ingress import digest
from webhook_gateway.ingress.publishing import EventSink, WebhookMessage
from webhook_gateway.ingress.schemas import ReportBody, accepted

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=ReportBody)
Envelope = events.WebhookEnvelope | events.RefundWebhookEnvelope


@dataclass(frozen=True, slots=True)
class Verification:
    webhook_keys: tuple[bytes, ...]
    payment_signing_keys: tuple[bytes, ...]
    tolerance_seconds: int

    def __repr__(self) -> str:  # keys stay out of any repr that might be logged
        return (
            f"Verification(keys={len(self.webhook_keys)}, payment_keys={len(self.payment_signing_keys)}, "
            f"tolerance_seconds={self.tolerance_seconds})"
        )


VERIFICATION = web.AppKey("verification", Verification)
SINK = web.AppKey("sink", EventSink)
# the event id of a request whose signature the ingress limits verified already, over this same body
VERIFIED_EVENT = web.RequestKey("verified_event", str)


def rejected(reason: str, error: ApiError) -> ApiError:
    log.warning("webhook.rejected", reason=reason, code=error.code, detail=error.description, field=error.field)
    return error


async def verified_event(request: web.Request) -> tuple[str, bytes]:
    """The event id of a request whose Standard Webhooks signature verifies, and the exact body it covers."""
    verification = request.app[VERIFICATION]
    # the Standard Webhooks signature covers the exact bytes received, so verify before parsing
    body = await request.read()
    if (event_id := request.get(VERIFIED_EVENT)) is not None:
        return event_id, body
    try:
        event_id = verify_webhook(verification.webhook_keys, request.headers, body, verification.tolerance_seconds)
    except WebhookVerificationError as exc:
        raise rejected("webhook_signature", ApiError(400, INVALID_SIGNATURE, str(exc))) from None
    return event_id, body


async def parsed(request: web.Request, body: bytes, model: type[M]) -> M:
    digest.require_match(request, body)
    try:
        return parse_model(model, await read_json_object(request))
    except ApiError as error:
        raise rejected("malformed_body", error) from None


async def publish(request: web.Request, envelope: Envelope) -> None:
    """Hand the envelope to the broker; 503 unless it is durable (the gateway retries)."""
    message = WebhookMessage.of(
        envelope, correlation_id=request[CORRELATION_ID], webhook_timestamp=int(request.headers["webhook-timestamp"])
    )
    try:
        await request.app[SINK].publish(message)
    except PublishError as exc:
        log.error("webhook.publish_failed", error=str(exc))
        raise ApiError(
            503, SERVICE_UNAVAILABLE, "the event cannot be accepted durably right now; retry later"
        ) from None


async def receive(
    request: web.Request,
    model: type[R],
    envelope: Callable[[str, R], Envelope],
    check: Callable[[web.Request, R], None] | None = None,
) -> web.Response:
    """A webhook view: verify, check the digest, parse as `model`, apply the view's own `check`, publish
    the `envelope` of the event id and the body, then answer 200 (`WebhookAccepted`)."""
    event_id, body = await verified_event(request)
    with bound(event_id=event_id):
        report = await parsed(request, body, model)
        with bound(**report.context()):
            if check is not None:
                check(request, report)
            await publish(request, envelope(event_id, report))
            log.info("webhook.accepted", **report.accepted())
    return accepted()
