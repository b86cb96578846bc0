"""HTTP to the merchant-webhooks process's internal API, with order-svc's bearer token on every call. The
merchant is always the path's: the process answers 404 for another merchant's endpoint or delivery."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ValidationError

from payments_common.errors import SERVICE_UNAVAILABLE, ApiError
from payments_common.logging import get_logger
from payments_common.merchant_webhooks import (
    Delivery,
    DeliveryList,
    Endpoint,
    EndpointCreate,
    EndpointList,
    EndpointUpdate,
    EndpointWithSecret,
)

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)


def unavailable(status: int | None = None) -> ApiError:
    if status == 401:
        # a configuration fault, not the merchant's: a 503 like any outage, and this line for the operator
        log.error("merchant_webhooks_client.unauthorized", hint="INTERNAL_API_TOKEN differs from merchant-webhooks'")
    return ApiError(503, SERVICE_UNAVAILABLE, "webhook endpoints are unavailable right now; try again")


def _refusal(status: int, data: Any) -> ApiError:
    """The process's refusal of the merchant's request (4xx with its error object), as it gave it; anything
    else (no answer, a 5xx, a 401 for our own token, an answer not in the error shape) is a 503."""
    error = data.get("error") if isinstance(data, dict) else None
    if 400 <= status < 500 and status != 401 and isinstance(error, dict) and isinstance(error.get("code"), str):
        field = error.get("field")
        description = str(error.get("description", ""))
        return ApiError(status, error["code"], description, field if isinstance(field, str) else None)
    return unavailable(status)


def _segment(value: str) -> str:
    # ids are checked by the use cases before they get here; quoted all the same, so that no value can
    # reach another path of the internal API
    return quote(value, safe="")


class MerchantWebhooksClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._authorization = f"Bearer {token}"

    async def _call(
        self, method: str, path: str, expected: int, body: BaseModel | None = None, query: dict[str, str] | None = None
    ) -> Any:
        """The JSON answer of a call answered `expected`; the process's refusal or a 503 otherwise."""
        json = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
        try:
            async with self._session.request(
                method,
                f"{self._base_url}{path}",
                json=json,
                params=query,
                headers={"Authorization": self._authorization},
            ) as response:
                status = response.status
                data = None if status == 204 else await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise unavailable() from None
        if status != expected:
            raise _refusal(status, data)
        return data

    @staticmethod
    def _answer(model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except ValidationError:
            # an answer this API does not document: as unavailable as no answer
            raise unavailable() from None

    @staticmethod
    def _endpoints(merchant_id: str) -> str:
        return f"/internal/merchants/{_segment(merchant_id)}/webhook-endpoints"

    async def create(self, merchant_id: str, body: EndpointCreate) -> EndpointWithSecret:
        data = await self._call("POST", self._endpoints(merchant_id), 201, body)
        return self._answer(EndpointWithSecret, data)

    async def list(self, merchant_id: str) -> EndpointList:
        return self._answer(EndpointList, await self._call("GET", self._endpoints(merchant_id), 200))

    async def get(self, merchant_id: str, endpoint_id: str) -> Endpoint:
        path = f"{self._endpoints(merchant_id)}/{_segment(endpoint_id)}"
        return self._answer(Endpoint, await self._call("GET", path, 200))

    async def update(self, merchant_id: str, endpoint_id: str, body: EndpointUpdate) -> Endpoint:
        path = f"{self._endpoints(merchant_id)}/{_segment(endpoint_id)}"
        return self._answer(Endpoint, await self._call("PATCH", path, 200, body))

    async def delete(self, merchant_id: str, endpoint_id: str) -> None:
        await self._call("DELETE", f"{self._endpoints(merchant_id)}/{_segment(endpoint_id)}", 204)

    async def rotate_secret(self, merchant_id: str, endpoint_id: str) -> EndpointWithSecret:
        path = f"{self._endpoints(merchant_id)}/{_segment(endpoint_id)}/rotate-secret"
        return self._answer(EndpointWithSecret, await self._call("POST", path, 200))

    async def deliveries(self, merchant_id: str, endpoint_id: str, limit: int) -> DeliveryList:
        path = f"{self._endpoints(merchant_id)}/{_segment(endpoint_id)}/deliveries"
        return self._answer(DeliveryList, await self._call("GET", path, 200, query={"limit": str(limit)}))

    async def redeliver(self, merchant_id: str, delivery_id: str) -> Delivery:
        path = f"/internal/merchants/{_segment(merchant_id)}/webhook-deliveries/{_segment(delivery_id)}/redeliver"
        return self._answer(Delivery, await self._call("POST", path, 202))
