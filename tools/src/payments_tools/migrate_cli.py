"""`payments-migrate`: create the database if missing and bring every service's schema up to date."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from payments_common.config import DEFAULT_DATABASE_URL
from payments_common.migrate import MigrationError, load_migrations, migrate

# schema -> the components whose migrations build it, in order
SCHEMAS: dict[str, tuple[str, ...]] = {
    "orders": ("payments_common", "order_svc"),
    "payments": ("payments_common", "payment_svc"),
    "gateway": ("mock_gateway",),
    # the operators' console: sessions, the failed-login throttle, the audit log (no outbox, no inbox)
    "console": ("payments_console",),
    # webhooks to merchants: endpoints, events, deliveries and their attempts (its own outbox for the emails)
    "merchant_webhooks": ("payments_common", "merchant_webhooks"),
}


async def migrate_all(dsn: str) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for schema, components in SCHEMAS.items():
        migrations = [m for component in components for m in load_migrations(component)]
        done = await migrate(dsn, schema, migrations)
        applied[schema] = [f"{m.component}:{m.version:04d}_{m.name}" for m in done]
    return applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()
    try:
        applied = asyncio.run(migrate_all(args.database_url))
    except (MigrationError, OSError) as exc:
        print(f"payments-migrate: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    for schema, names in applied.items():
        print(f"{schema}: {'applied ' + ', '.join(names) if names else 'up to date'}")


if __name__ == "__main__":
    main()
