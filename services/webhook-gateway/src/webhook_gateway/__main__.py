"""`webhook-gateway`: the payment gateway's way in."""

from __future__ import annotations

from payments_common import service
from webhook_gateway.app import create_app
from webhook_gateway.settings import SERVICE, Settings


def main() -> None:
    service.main(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
