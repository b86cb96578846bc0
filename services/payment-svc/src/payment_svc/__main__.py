"""`payment-svc`: the internal HTTP API, the webhook consumer and the outbox relay in one process."""

from __future__ import annotations

from payment_svc.app import create_app
from payment_svc.settings import SERVICE, Settings
from payments_common import service


def main() -> None:
    service.main(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
