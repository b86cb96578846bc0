"""Local configuration: secrets generated once into a git-ignored `.env`, the environment winning.

Two kinds of secret. The contract's (`API_KEYS`, `PAYMENT_SIGNING_SECRET`, `WEBHOOK_SECRETS`) are shared
with the world outside: merchants, the gateway. A developer may bring their own in the environment, and
then they are used as they are and never written down. The internal ones (`ADMIN_TOKEN`,
`INTERNAL_API_TOKEN`, `KEY_SEALING_KEY`) are the system's own business; whatever the environment and the
file lack of them is generated into the file, so the next start and `payments-admin` use the same.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from payments_common.config import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL
from payments_tools.mail_catcher import LOCAL_SMTP_URL

CONTRACT_SECRETS = ("API_KEYS", "PAYMENT_SIGNING_SECRET", "WEBHOOK_SECRETS")
# the services' own: no one outside needs them, so they are generated whenever they are missing
INTERNAL_SECRETS = ("ADMIN_TOKEN", "INTERNAL_API_TOKEN", "KEY_SEALING_KEY")
# not secrets, but read by payments-stack itself (the database it migrates, the ports it waits on, is
# there a mail catcher to start?), so the environment must win over the file for them too
STACK_SETTINGS = (
    "DATABASE_URL",
    "ORDER_SVC_URL",
    "WEBHOOK_GATEWAY_URL",
    "PAYMENT_SVC_URL",
    "MOCK_GATEWAY_URL",
    "CONSOLE_URL",
    "SMTP_URL",
    "SMTP_FROM",
    # the rate limits' store; payments-stack defaults it to this machine's Redis (empty: in memory)
    "REDIS_URL",
    # the console's operators, when a developer brings their own (else payments-stack makes `admin`)
    "CONSOLE_OPERATORS",
)

_HEADER = "# Generated for local runs by payments-stack; git-ignored. Delete it to generate new secrets.\n"
_INTERNAL_ONLY_HEADER = (
    "# Generated for local runs by payments-stack; git-ignored. The internal tokens only: API_KEYS,\n"
    "# PAYMENT_SIGNING_SECRET and WEBHOOK_SECRETS come from the environment. Delete it for new tokens.\n"
)


def generate_secrets() -> dict[str, str]:
    """Two merchants' keys (so merchant scoping can be tried), a payment signing key, a webhook key, the
    admin API's token, the internal API's (order-svc to payment-svc) and the key secrets' sealing key."""
    keys = ",".join(f"rzp_test_{secrets.token_hex(6)}:{secrets.token_urlsafe(24)}" for _ in range(2))
    return {
        "API_KEYS": keys,
        "PAYMENT_SIGNING_SECRET": secrets.token_hex(32),
        "WEBHOOK_SECRETS": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "ADMIN_TOKEN": secrets.token_urlsafe(32),
        "INTERNAL_API_TOKEN": secrets.token_urlsafe(32),
        # the AES-256 key order-svc seals merchants' key secrets under (order_svc/merchants/sealing.py)
        "KEY_SEALING_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def _require_contract_secrets(values: Mapping[str, str], path: Path) -> None:
    missing = [name for name in CONTRACT_SECRETS if not values.get(name)]
    if missing:
        raise SystemExit(f"payments-stack: {', '.join(missing)} not set (neither in the environment nor in {path})")


def _write_new(path: Path, header: str, values: dict[str, str]) -> None:
    path.write_text(header + "".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    path.chmod(0o600)


def load_or_create(path: Path) -> tuple[dict[str, str], bool]:
    """The values in effect and whether the file was created now.

    A variable set in the environment wins over the file. Without a file, and with none of the
    contract's secrets in the environment, the file is written with every secret generated. With the
    contract's secrets in the environment (all of them: some but not all is an error), those are used
    as they are, and only the internal secrets the environment lacks are generated, into a new file.
    An existing file that lacks an internal secret gets it appended.
    """
    created = False
    contract_from_environment = any(os.environ.get(name) for name in CONTRACT_SECRETS)
    if not path.exists() and not contract_from_environment:
        values = {
            "DATABASE_URL": DEFAULT_DATABASE_URL,
            "AMQP_URL": DEFAULT_AMQP_URL,
            # the mail catcher payments-stack starts; point it at a real server to send real mail
            "SMTP_URL": LOCAL_SMTP_URL,
            **generate_secrets(),
        }
        _write_new(path, _HEADER, values)
        created = True
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.exists() else {}
    missing_internal = [name for name in INTERNAL_SECRETS if not values.get(name) and not os.environ.get(name)]
    if missing_internal:
        fresh = generate_secrets()
        generated = {name: fresh[name] for name in missing_internal}
        if path.exists():
            with path.open("a", encoding="utf-8") as file:
                file.writelines(f"{name}={value}\n" for name, value in generated.items())
        else:
            # refused before anything is written when the environment holds only some of the contract's
            _require_contract_secrets(os.environ, path)
            _write_new(path, _INTERNAL_ONLY_HEADER, generated)
            created = True
        values.update(generated)
    wanted = (*CONTRACT_SECRETS, *INTERNAL_SECRETS, *STACK_SETTINGS)
    merged = {**values, **{k: v for k, v in os.environ.items() if k in values or k in wanted}}
    _require_contract_secrets(merged, path)
    return merged, created


def secrets_origin(path: Path, created: bool) -> str:
    """Where the secrets in effect come from, for the start-up banner."""
    state = "generated now" if created else "existing"
    from_environment = [name for name in (*CONTRACT_SECRETS, *INTERNAL_SECRETS) if os.environ.get(name)]
    if not from_environment:
        return f"{path} ({state})"
    if len(from_environment) == len(CONTRACT_SECRETS) + len(INTERNAL_SECRETS):
        return "the environment"
    return f"{', '.join(from_environment)} from the environment; the others in {path} ({state})"
