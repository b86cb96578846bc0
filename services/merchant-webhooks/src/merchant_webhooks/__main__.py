"""`merchant-webhooks`: the internal API of endpoints and deliveries, the event consumer, the delivery
worker and the outbox relay in one process."""

from __future__ import annotations

from merchant_webhooks.app import create_app
from merchant_webhooks.settings import SERVICE, Settings
from payments_common import service


def main() -> None:
    service.main(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
