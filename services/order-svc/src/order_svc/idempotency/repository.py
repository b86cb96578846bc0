"""asyncpg statements of `idempotency_keys`, each its own short transaction on the pool: a claim must be
seen by a concurrent request with the same key at once, not when the request's work commits."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from order_svc.idempotency.domain import Claim, StoredKey
from payments_common.logging import get_logger

log = get_logger(__name__)

# well past the longest a request may run: the payment-svc call (PAYMENT_SVC_TIMEOUT_SECONDS, 15 s by
# default) and a few database statements
STALE_CLAIM_SECONDS = 60.0
# a request that keeps finding the key claimed and then gone (claims released in between) gives up
_CLAIM_ATTEMPTS = 3
PURGE_BATCH_SIZE = 5_000


async def claim(
    pool: asyncpg.Pool, merchant_id: str, key: str, fingerprint: str, ttl: timedelta
) -> Claim | StoredKey | None:
    """Our claim, or the key's row as another request left it (None: it kept vanishing)."""
    for _ in range(_CLAIM_ATTEMPTS):
        claim_id = uuid.uuid4()
        inserted = await pool.execute(
            """INSERT INTO idempotency_keys (merchant_id, key, fingerprint, status, claim_id, request_id, expires_at)
               VALUES ($1, $2, $3, 'in_progress', $4, $4, now() + $5::interval)
               ON CONFLICT DO NOTHING""",
            merchant_id,
            key,
            fingerprint,
            claim_id,
            ttl,
        )
        if inserted == "INSERT 0 1":
            return Claim(claim_id, claim_id)
        # an expired key is free again, as a new request; a claim left by a dead request is free to the
        # same request, which carries on as that request (its request_id)
        request_id = await pool.fetchval(
            """UPDATE idempotency_keys
               SET fingerprint = $3, status = 'in_progress', claim_id = $4, claimed_at = now(),
                   request_id = CASE WHEN expires_at <= now() THEN $4 ELSE request_id END,
                   response_status = NULL, response_body = NULL, content_type = NULL,
                   created_at = CASE WHEN expires_at <= now() THEN now() ELSE created_at END,
                   expires_at = CASE WHEN expires_at <= now() THEN now() + $5::interval ELSE expires_at END
               WHERE merchant_id = $1 AND key = $2
                 AND (expires_at <= now()
                      OR (status = 'in_progress' AND fingerprint = $3 AND claimed_at < now() - $6::interval))
               RETURNING request_id""",
            merchant_id,
            key,
            fingerprint,
            claim_id,
            ttl,
            timedelta(seconds=STALE_CLAIM_SECONDS),
        )
        if request_id is not None:
            log.info("idempotency.claim_taken_over", merchant_id=merchant_id)
            return Claim(claim_id, request_id)
        row = await pool.fetchrow(
            """SELECT fingerprint, status, response_status, response_body, content_type
               FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND expires_at > now()""",
            merchant_id,
            key,
        )
        if row is not None:
            return StoredKey(
                fingerprint=row["fingerprint"],
                done=row["status"] == "done",
                response_status=row["response_status"],
                response_body=row["response_body"],
                content_type=row["content_type"],
            )
    return None


async def complete(
    pool: asyncpg.Pool,
    merchant_id: str,
    key: str,
    claim_id: uuid.UUID,
    status: int,
    body: bytes,
    content_type: str | None,
) -> bool:
    """Store the answer under our claim; False when the claim is no longer ours (taken over)."""
    result = await pool.execute(
        """UPDATE idempotency_keys
           SET status = 'done', response_status = $4, response_body = $5, content_type = $6
           WHERE merchant_id = $1 AND key = $2 AND claim_id = $3""",
        merchant_id,
        key,
        claim_id,
        status,
        body,
        content_type,
    )
    return bool(result == "UPDATE 1")


async def release(pool: asyncpg.Pool, merchant_id: str, key: str, claim_id: uuid.UUID) -> None:
    await pool.execute(
        "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND claim_id = $3",
        merchant_id,
        key,
        claim_id,
    )


async def purge_expired(pool: asyncpg.Pool, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete expired keys in small transactions; return how many."""
    total = 0
    while True:
        status = await pool.execute(
            """DELETE FROM idempotency_keys WHERE (merchant_id, key) IN (
                   SELECT merchant_id, key FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)""",
            batch_size,
        )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch_size:
            return total
