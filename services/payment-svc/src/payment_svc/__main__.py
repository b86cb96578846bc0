"""`payment-svc`: the internal HTTP API, the webhook consumer and the outbox relay in one process."""

from __future__ import annotations

from payment_svc.bootstrap import create_app
from payment_svc.settings import SERVICE, Settings
from payments_common import logging, service


def main() -> None:
    settings = Settings()  # required values come from the environment
    logging.configure(SERVICE, settings.LOG_LEVEL)
    logging.register_secrets(settings.secrets())
    service.run(lambda: create_app(settings), settings.HOST, settings.port)


if __name__ == "__main__":
    main()
