"""Local configuration: secrets generated once into a git-ignored `.env`, the environment winning."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

from payments_common.config import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL
from payments_tools.mail_catcher import LOCAL_SMTP_URL

SECRET_NAMES = ("API_KEYS", "PAYMENT_SIGNING_SECRET", "WEBHOOK_SECRETS")
# added after the first release: generated into an existing `.env` that lacks them
LATER_SECRETS = ("ADMIN_TOKEN", "INTERNAL_API_TOKEN")
# not secrets, but read by payments-stack itself (is there a mail catcher to start?), so the environment
# must win over the file for them too
STACK_SETTINGS = ("SMTP_URL", "SMTP_FROM")


def generate_secrets() -> dict[str, str]:
    """Two merchants' keys (so merchant scoping can be tried), a payment signing key, a webhook key, the
    admin API's token and the internal API's (order-svc to payment-svc)."""
    keys = ",".join(f"rzp_test_{secrets.token_hex(6)}:{secrets.token_urlsafe(24)}" for _ in range(2))
    return {
        "API_KEYS": keys,
        "PAYMENT_SIGNING_SECRET": secrets.token_hex(32),
        "WEBHOOK_SECRETS": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "ADMIN_TOKEN": secrets.token_urlsafe(32),
        "INTERNAL_API_TOKEN": secrets.token_urlsafe(32),
    }


def load_or_create(path: Path) -> tuple[dict[str, str], bool]:
    """The values in effect and whether the file was created now.

    A variable set in the environment wins over the file; the file is only written when it is
    missing and the environment sets none of the secrets.
    """
    created = False
    if not path.exists() and not any(os.environ.get(name) for name in SECRET_NAMES):
        values = {
            "DATABASE_URL": DEFAULT_DATABASE_URL,
            "AMQP_URL": DEFAULT_AMQP_URL,
            # the mail catcher payments-stack starts; point it at a real server to send real mail
            "SMTP_URL": LOCAL_SMTP_URL,
            **generate_secrets(),
        }
        path.write_text(
            "# Generated for local runs by payments-stack; git-ignored. Delete it to generate new secrets.\n"
            + "".join(f"{name}={value}\n" for name, value in values.items()),
            encoding="utf-8",
        )
        path.chmod(0o600)
        created = True
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.exists() else {}
    if path.exists():
        missing_later = [name for name in LATER_SECRETS if not values.get(name) and not os.environ.get(name)]
        if missing_later:
            fresh = generate_secrets()
            with path.open("a", encoding="utf-8") as file:
                file.writelines(f"{name}={fresh[name]}\n" for name in missing_later)
            values.update({name: fresh[name] for name in missing_later})
    wanted = (*SECRET_NAMES, *LATER_SECRETS, *STACK_SETTINGS)
    merged = {**values, **{k: v for k, v in os.environ.items() if k in values or k in wanted}}
    missing = [name for name in SECRET_NAMES if not merged.get(name)]
    if missing:
        raise SystemExit(f"payments-stack: {', '.join(missing)} not set (neither in the environment nor in {path})")
    return merged, created
