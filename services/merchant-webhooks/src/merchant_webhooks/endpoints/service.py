"""The use cases of a merchant's endpoints: register, read, change, delete, rotate the secret. A URL is
vetted against the egress rules (with its host resolved now) whenever it is set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from merchant_webhooks.deliveries.signing import new_secret
from merchant_webhooks.egress.domain import EgressRules, RefusedUrl
from merchant_webhooks.egress.resolver import VettedResolver, vet_url
from merchant_webhooks.endpoints.repository import EndpointRecord, EndpointRepository
from payments_common.errors import bad_request, not_found
from payments_common.ids import new_uuid
from payments_common.merchant_webhooks import ENDPOINT_PREFIX, EndpointCreate, EndpointUpdate
from payments_common.timeutil import utcnow
from payments_common.uow import UnitOfWork

ENDPOINT = "webhook endpoint"


@dataclass(frozen=True, slots=True)
class EndpointDeps:
    pool: asyncpg.Pool
    rules: EgressRules
    resolver: VettedResolver
    secret_overlap_seconds: float


def new_endpoint_id() -> str:
    return f"{ENDPOINT_PREFIX}_{new_uuid().hex}"


async def _vetted(deps: EndpointDeps, url: str) -> str:
    try:
        await vet_url(url, deps.rules, deps.resolver)
    except RefusedUrl as refused:
        raise bad_request(str(refused), "url") from None
    return url


async def create_endpoint(deps: EndpointDeps, merchant_id: str, body: EndpointCreate) -> EndpointRecord:
    url = await _vetted(deps, body.url)
    async with UnitOfWork(deps.pool) as uow:
        return await uow.repo(EndpointRepository).insert(
            new_endpoint_id(), merchant_id, url, body.events, body.description, new_secret()
        )


async def get_endpoint(deps: EndpointDeps, merchant_id: str, endpoint_id: str) -> EndpointRecord:
    async with deps.pool.acquire() as conn:
        found = await EndpointRepository(conn).get(merchant_id, endpoint_id)
    if found is None:
        raise not_found(ENDPOINT)
    return found


async def list_endpoints(deps: EndpointDeps, merchant_id: str) -> list[EndpointRecord]:
    async with deps.pool.acquire() as conn:
        return await EndpointRepository(conn).of_merchant(merchant_id)


async def update_endpoint(
    deps: EndpointDeps, merchant_id: str, endpoint_id: str, body: EndpointUpdate
) -> EndpointRecord:
    changes: dict[str, Any] = {}
    if body.url is not None:
        changes["url"] = await _vetted(deps, body.url)
    if body.events is not None:
        changes["events"] = body.events
    if "description" in body.model_fields_set:
        changes["description"] = body.description
    async with UnitOfWork(deps.pool) as uow:
        endpoints = uow.repo(EndpointRepository)
        current = await endpoints.get(merchant_id, endpoint_id, for_update=True)
        if current is None:
            raise not_found(ENDPOINT)
        if body.status == "enabled" and current.status != "enabled":
            # enabling starts afresh: no failing streak carried over to disable it again at once
            changes.update(status="enabled", disabled_reason=None, failing_since=None)
        elif body.status == "disabled" and current.status != "disabled":
            changes.update(status="disabled", disabled_reason="merchant")
        if not changes:
            return current
        return await endpoints.update(endpoint_id, changes)


async def delete_endpoint(deps: EndpointDeps, merchant_id: str, endpoint_id: str) -> None:
    async with UnitOfWork(deps.pool) as uow:
        if not await uow.repo(EndpointRepository).delete(merchant_id, endpoint_id):
            raise not_found(ENDPOINT)


async def rotate_secret(deps: EndpointDeps, merchant_id: str, endpoint_id: str) -> EndpointRecord:
    """A new secret signs from now on; the one it replaces keeps signing beside it for the overlap (a
    rotation during an overlap drops the oldest: only the two newest secrets ever sign)."""
    async with UnitOfWork(deps.pool) as uow:
        endpoints = uow.repo(EndpointRepository)
        current = await endpoints.get(merchant_id, endpoint_id, for_update=True)
        if current is None:
            raise not_found(ENDPOINT)
        return await endpoints.update(
            endpoint_id,
            {
                "secret": new_secret(),
                "previous_secret": current.secret,
                "previous_secret_expires_at": utcnow() + timedelta(seconds=deps.secret_overlap_seconds),
            },
        )
