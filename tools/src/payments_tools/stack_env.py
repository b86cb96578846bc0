"""What `payments-stack` gives the services and tells the developer: the mail catcher's wiring, the
operators' console's dev operator, the environment of an `exec` command, and the `run` banner."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from order_svc.emails.smtp import parse_smtp_url
from payments_common.config import DEFAULT_REDIS_URL, port_of
from payments_console.auth.domain import hash_password
from payments_console.settings import CONSOLE_PORT
from payments_tools import mail_catcher
from payments_tools.localenv import generate_secrets, secrets_origin
from payments_tools.stack_scale import Instance, balanced

# the console's operator payments-stack makes for a local run, with a fresh password each start
DEV_OPERATOR = "admin"
# merchants' webhook endpoints on this machine may be plain http (a receiver started by a test or a developer)
LOCAL_WEBHOOK_HOSTS = "127.0.0.1,localhost"


def catcher_url(port: int = mail_catcher.PORT) -> str:
    return f"smtp://{mail_catcher.HOST}:{port}"


def use_mail_catcher(env: dict[str, str], port: int = mail_catcher.PORT) -> bool:
    """Point the services at the local mail catcher (on `port`) unless `SMTP_URL` names another server;
    True when the catcher is to run. The default catcher's URL, as a generated `.env` holds it, names the
    catcher wherever it listens."""
    if not env.get("SMTP_URL") or env["SMTP_URL"] == mail_catcher.LOCAL_SMTP_URL:
        env["SMTP_URL"] = catcher_url(port)
    return env["SMTP_URL"] == catcher_url(port)


def mail_line(env: dict[str, str], mail_dir: Path | None) -> str:
    if mail_dir is not None:
        return f"mail lands in {mail_dir} ({env.get('SMTP_URL') or mail_catcher.LOCAL_SMTP_URL})"
    try:
        smtp = parse_smtp_url(env.get("SMTP_URL", ""))
    except ValueError:
        return "SMTP_URL is malformed: order-svc will say which part"
    return f"sent through {smtp.display()} (SMTP_URL)" if smtp is not None else "not sent (no SMTP_URL)"


def console_url(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{port_of(env.get('CONSOLE_URL', ''), CONSOLE_PORT)}"


def ensure_console_operator(env: dict[str, str]) -> str | None:
    """Give the console a dev operator (`admin`, a random password, its hash in CONSOLE_OPERATORS) unless
    CONSOLE_OPERATORS is set already, and a session cookie a local http browser sends back. The password,
    or None when the operators came from elsewhere (then CONSOLE_PASSWORD, when given, is theirs)."""
    env.setdefault("CONSOLE_COOKIE_SECURE", "false")
    if env.get("CONSOLE_OPERATORS"):
        return env.get("CONSOLE_PASSWORD") or None
    password = secrets.token_urlsafe(12)
    env["CONSOLE_OPERATORS"] = f"{DEV_OPERATOR}:{hash_password(password)}"
    return password


def exec_system_env(url_vars: Iterable[str], database_url: str | None) -> dict[str, str]:
    """The system's environment under `exec`: the secrets, mail, Redis, console operators and services' URLs
    (`url_vars`) the environment gives, fresh secrets for the rest, and `database_url`, else DATABASE_URL,
    else a payments_test database."""
    # tests get their own database and fresh secrets unless the environment gives them
    env = {
        name: os.environ[name]
        for name in (
            "API_KEYS",
            "PAYMENT_SIGNING_SECRET",
            "WEBHOOK_SECRETS",
            "ADMIN_TOKEN",
            "INTERNAL_API_TOKEN",
            "SMTP_URL",
            "REDIS_URL",
            # operators of one's own, and the password of one of them for the browser tests
            "CONSOLE_OPERATORS",
            "CONSOLE_OPERATOR",
            "CONSOLE_PASSWORD",
            # where each service listens (a second system beside the first), which the stack waits on
            *url_vars,
        )
        if os.environ.get(name)
    }
    env = {**generate_secrets(), **env}
    env.setdefault("REDIS_URL", os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    env.setdefault("WEBHOOK_ALLOWED_HTTP_HOSTS", os.environ.get("WEBHOOK_ALLOWED_HTTP_HOSTS", LOCAL_WEBHOOK_HOSTS))
    env["DATABASE_URL"] = database_url or os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/payments_test"
    )
    return env


def exec_env(
    env: dict[str, str], api_url: str, webhook_url: str, run_dir: Path, console_password: str | None
) -> dict[str, str]:
    """An `exec` command's environment: the system's, where to reach it, and how to sign in to its console."""
    child = {
        **os.environ,
        **env,
        "API_URL": api_url,
        "WEBHOOK_URL": webhook_url,
        "PAYMENTS_RUN_DIR": str(run_dir.resolve()),
        "CONSOLE_URL": console_url(env),
    }
    if console_password is not None:
        child["CONSOLE_OPERATOR"] = env.get("CONSOLE_OPERATOR", DEV_OPERATOR)
        child["CONSOLE_PASSWORD"] = console_password
    return child


def instances_line(instances: list[Instance]) -> str:
    """At --scale 2 and above: which instances the balancer spreads each service's port over."""
    parts = [
        f"{service} :{group[0].public_port} -> " + ", ".join(f"{i.name} :{i.port}" for i in group)
        for service, group in balanced(instances).items()
    ]
    return "Balanced by HAProxy (.run/haproxy.cfg):\n" + "\n".join(f"  {part}" for part in parts) + "\n"


def banner(
    env: dict[str, str],
    urls: dict[str, str],
    env_file: Path,
    created: bool,
    mail_dir: Path | None,
    console_password: str | None,
) -> str:
    """`urls`: each service's local URL by name."""
    key_id, _, secret = env["API_KEYS"].split(",")[0].partition(":")
    admin_token = "ADMIN_TOKEN from the environment" if os.environ.get("ADMIN_TOKEN") else f"ADMIN_TOKEN in {env_file}"
    operator = (
        f"{DEV_OPERATOR} / {console_password} (fresh each start)"
        if console_password is not None
        else "the operators of CONSOLE_OPERATORS"
    )
    lines = [
        "",
        "Payments system is up.",
        f"  client API (order-svc)   {urls['order-svc']}",
        f"  webhooks (gateway)       {urls['webhook-gateway']}/webhook/payment",
        f"  payment-svc (internal)   {urls['payment-svc']}",
        f"  mock gateway             {urls['mock-gateway']}",
        f"  operators' console       {urls['payments-console']}",
        f"  console sign-in          {operator}",
        f"  admin API                {urls['payment-svc']}/admin/ and {urls['order-svc']}/admin/",
        f"  admin token              {admin_token} (also used by payments-admin)",
        f"  dev API key              {key_id}:{secret}",
        f"  secrets                  {secrets_origin(env_file, created)}",
        f"  customer emails          {mail_line(env, mail_dir)}",
        "",
        "Try it:",
        f"  curl -s -u {key_id}:{secret} -H 'content-type: application/json' \\",
        f'       -d \'{{"amount": 1500, "currency": "INR"}}\' {urls["order-svc"]}/orders',
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)
