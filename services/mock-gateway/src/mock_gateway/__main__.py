"""`mock-gateway`: a payment gateway simulator that settles payments by signed webhooks."""

from __future__ import annotations

from mock_gateway.app import create_app
from mock_gateway.settings import SERVICE, Settings
from payments_common import logging, service


def main() -> None:
    settings = Settings()  # the secrets are required and come from the environment
    logging.configure(SERVICE, settings.LOG_LEVEL)
    logging.register_secrets(settings.secrets())
    service.run(lambda: create_app(settings), settings.HOST, settings.port)


if __name__ == "__main__":
    main()
