"""Sending one webhook event until the webhook gateway takes it, as real gateways do.

Every try re-signs the same body under the same event id with a fresh timestamp: the id lets the
receiver deduplicate, the fresh timestamp keeps late retries inside its replay tolerance.
"""

from __future__ import annotations

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential_jitter
from tenacity.wait import WaitBaseT

from payments_common.logging import get_logger
from payments_common.signatures import sign_webhook

log = get_logger(__name__)

# tenacity 9.2 renamed `initial` to `multiplier`: the first retry waits 0.2 s plus jitter, doubling up to 30 s
DEFAULT_WAIT: WaitBaseT = wait_exponential_jitter(multiplier=0.2, max=30)


class _Retry(Exception):
    """This try failed in a way a later one may not (5xx, 408, 429, network)."""


class _Rejected(Exception):
    """The receiver refused the event for good (a 4xx other than 408 and 429)."""


def _is_final_refusal(status: int) -> bool:
    return 400 <= status < 500 and status not in (408, 429)


class WebhookSender:
    """Owns the one HTTP session every delivery shares; `open` and `close` bracket its life."""

    def __init__(
        self,
        url: str,
        signing_key: bytes,
        *,
        timeout_seconds: float,
        retry_window_seconds: float,
        wait: WaitBaseT = DEFAULT_WAIT,
    ) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._url = url
        self._signing_key = signing_key
        self._retry_window_seconds = retry_window_seconds
        self._wait = wait

    async def open(self) -> None:
        # created inside the running loop, as aiohttp requires
        self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, event_id: str, body: bytes, correlation_id: str | None = None) -> bool:
        """True once delivered; False when refused or the retry window ran out (both logged)."""
        try:
            async for attempt in AsyncRetrying(
                wait=self._wait,
                stop=stop_after_delay(self._retry_window_seconds),
                retry=retry_if_exception_type(_Retry),
                reraise=True,
            ):
                with attempt:
                    await self._try(event_id, body, attempt.retry_state.attempt_number, correlation_id)
        except _Rejected:
            return False
        except _Retry:
            log.error("webhook.gave_up", retry_window_seconds=self._retry_window_seconds)
            return False
        return True

    async def _try(self, event_id: str, body: bytes, attempt: int, correlation_id: str | None) -> None:
        headers = {"content-type": "application/json", **sign_webhook(self._signing_key, event_id, body).as_dict()}
        if correlation_id:
            headers["X-Request-Id"] = correlation_id
        if self._session is None:
            raise RuntimeError("WebhookSender.open() was not called")
        try:
            async with self._session.post(self._url, data=body, headers=headers) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("webhook.attempt_failed", attempt=attempt, error=type(exc).__name__)
            raise _Retry from exc
        if 200 <= status < 300:
            log.info("webhook.delivered", attempt=attempt, status_code=status)
            return
        if _is_final_refusal(status):
            log.error("webhook.rejected", attempt=attempt, status_code=status)
            raise _Rejected
        log.warning("webhook.attempt_failed", attempt=attempt, status_code=status)
        raise _Retry
