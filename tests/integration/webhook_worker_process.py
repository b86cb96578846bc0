"""A delivery worker as a process of its own, for the test that kills it with SIGKILL mid-run:
`python webhook_worker_process.py DSN SCHEMA` runs merchant-webhooks' worker (receivers on 127.0.0.1
allowed, a 1 s attempt timeout, so a lapsed claim is due again 12 s later) until it is killed."""

from __future__ import annotations

import asyncio
import sys

from merchant_webhooks.deliveries.domain import RetryPolicy
from merchant_webhooks.deliveries.worker import DeliveryWorker, WorkerConfig
from merchant_webhooks.egress.client import EndpointClient
from merchant_webhooks.egress.domain import EgressRules
from payments_common.db import create_pool


async def main(dsn: str, schema: str) -> None:
    pool = await create_pool(dsn, schema, 4)
    rules = EgressRules(allowed_http_hosts=frozenset({"127.0.0.1"}))
    client = EndpointClient(rules, timeout_seconds=1.0, limit=16)
    policy = RetryPolicy(retry_for_seconds=600, base_seconds=0.05, max_delay_seconds=0.2, disable_after_seconds=3600)
    worker = DeliveryWorker(pool, client, policy, WorkerConfig(4, 16, 1.0, 0.05))
    worker.start()
    print("worker started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
