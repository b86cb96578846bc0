"""The endpoints' answers, rendered from a stored endpoint into the internal API's models
(`payments_common.merchant_webhooks`, which order-svc reads them with)."""

from __future__ import annotations

from merchant_webhooks.endpoints.repository import EndpointRecord
from payments_common.merchant_webhooks import Endpoint, EndpointWithSecret
from payments_common.timeutil import utcnow


def _fields(record: EndpointRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "merchantId": record.merchant_id,
        "url": record.url,
        "events": record.events,
        "description": record.description,
        "status": record.status,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
        "disabledReason": record.disabled_reason,
    }


def endpoint(record: EndpointRecord) -> Endpoint:
    return Endpoint.model_validate(_fields(record))


def endpoint_with_secret(record: EndpointRecord) -> EndpointWithSecret:
    """Only after a creation or a rotation: the secret, and until when the previous one still signs."""
    expires = record.previous_secret_expires_at
    return EndpointWithSecret.model_validate(
        {
            **_fields(record),
            "secret": record.secret,
            "previousSecretExpiresAt": expires if expires is not None and expires > utcnow() else None,
        }
    )
