"""`mock-gateway`: a payment gateway simulator that settles payments by signed webhooks."""

from __future__ import annotations

from mock_gateway.app import create_app
from mock_gateway.settings import SERVICE, Settings
from payments_common import service


def main() -> None:
    service.main(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
