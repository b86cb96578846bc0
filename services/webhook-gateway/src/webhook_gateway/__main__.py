"""`webhook-gateway`: the payment gateway's way in."""

from __future__ import annotations

from payments_common import logging, service
from webhook_gateway.app import create_app
from webhook_gateway.settings import SERVICE, Settings


def main() -> None:
    settings = Settings()  # the secrets are required and come from the environment
    logging.configure(SERVICE, settings.LOG_LEVEL)
    logging.register_secrets(settings.secrets())
    service.run(lambda: create_app(settings), settings.HOST, settings.port)


if __name__ == "__main__":
    main()
