"""`order-svc`: the client API and the consumer of payment events in one process."""

from __future__ import annotations

from order_svc.app import create_app
from order_svc.settings import SERVICE, Settings
from payments_common import service


def main() -> None:
    service.main(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
