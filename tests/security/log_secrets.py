"""No configured secret in any service log line: the check run at the end of `make system`.

    python -m tests.security.log_secrets [LOG_DIR ...]        (default: .run/logs)

The secrets are the ones in this process's environment, which `payments-stack exec` shares with the
services it ran: every `API_KEYS` key secret and whole entry, `PAYMENT_SIGNING_SECRET` and each of
its entries, `WEBHOOK_SECRETS` and each entry, its base64 part and the key in hex, `ADMIN_TOKEN`,
`INTERNAL_API_TOKEN` and each of its entries, and the passwords in `DATABASE_URL`, `AMQP_URL` and
`SMTP_URL` (and `POSTGRES_PASSWORD`/`RABBITMQ_PASSWORD` when set). Every line of every `*.log` file
is searched for each, as written and as JSON would escape it.
Every line is also searched for anything that looks like a card number (13 to 19 digits, spaces or dashes
allowed between them, passing the Luhn check and starting with a known network's BIN), since the tests
pay by card and no number may reach a log.

A finding is reported by the secret's name and the file:line only, never the value. Values shorter
than the log masking's minimum are skipped (and named): the masking cannot hide them either, and
the local broker's `guest` password is also its user name, which logs may carry.

Exit status: 0 nothing found, 1 a secret was found, 2 nothing to check (no secret configured, or no
log line at all: a check of nothing must not pass).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from payments_common.methods import luhn_valid, network_of

DEFAULT_LOG_DIR = Path(".run/logs")
# payments_common.logging.register_secrets masks nothing shorter
MIN_LENGTH = 6
# per secret, enough locations to find the leak without flooding the output
MAX_REPORTED = 10
CARD_NUMBER = "a card number"
# digit runs a PAN could hide in, separators included. The lookarounds take only a run that stands on its
# own: digits inside a hex id or a UUID (`req_01a2…`, `…-4279-7134-9281-…`) are not a card number
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z_-])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z_-])")


def looks_like_card_number(line: str) -> bool:
    for match in _DIGIT_RUN.finditer(line):
        digits = re.sub(r"[ -]", "", match.group())
        if luhn_valid(digits) and network_of(digits) is not None:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Secret:
    name: str
    value: str

    def needles(self) -> set[str]:
        # a value holding a quote, a backslash or a control character is written escaped in a JSON line
        return {self.value, json.dumps(self.value)[1:-1]}


def _entries(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def secrets_from(env: Mapping[str, str]) -> list[Secret]:
    """Every secret value configured in `env`, each under a name that can be printed."""
    found: list[Secret] = []

    def add(name: str, value: str | None) -> None:
        if value:
            found.append(Secret(name, value))

    api_keys = env.get("API_KEYS", "")
    add("API_KEYS", api_keys)
    for n, entry in enumerate(_entries(api_keys), 1):
        add(f"API_KEYS entry {n}", entry)
        add(f"API_KEYS entry {n} key secret", entry.partition(":")[2].strip())

    signing = env.get("PAYMENT_SIGNING_SECRET", "")
    add("PAYMENT_SIGNING_SECRET", signing)
    for n, entry in enumerate(_entries(signing), 1):
        add(f"PAYMENT_SIGNING_SECRET entry {n}", entry)

    webhook = env.get("WEBHOOK_SECRETS", "")
    add("WEBHOOK_SECRETS", webhook)
    for n, entry in enumerate(_entries(webhook), 1):
        add(f"WEBHOOK_SECRETS entry {n}", entry)
        encoded = entry.removeprefix("whsec_")
        add(f"WEBHOOK_SECRETS entry {n} base64", encoded)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        add(f"WEBHOOK_SECRETS entry {n} key hex", key.hex())

    add("ADMIN_TOKEN", env.get("ADMIN_TOKEN"))
    internal = env.get("INTERNAL_API_TOKEN", "")
    add("INTERNAL_API_TOKEN", internal)
    for n, entry in enumerate(_entries(internal), 1):
        add(f"INTERNAL_API_TOKEN entry {n}", entry)
    sealing = env.get("KEY_SEALING_KEY", "")
    add("KEY_SEALING_KEY", sealing)
    for n, entry in enumerate(_entries(sealing), 1):
        add(f"KEY_SEALING_KEY entry {n}", entry)
    for name in ("DATABASE_URL", "AMQP_URL", "SMTP_URL"):
        add(f"{name} password", _url_password(env.get(name, "")))
    for name in ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD"):
        add(name, env.get(name))
    # one value may hide under several names (a single-entry list is its own entry): check it once
    unique: dict[str, Secret] = {}
    for secret in found:
        unique.setdefault(secret.value, secret)
    return list(unique.values())


@dataclass
class Report:
    files: int = 0
    lines: int = 0
    checked: list[Secret] = field(default_factory=list)
    skipped: list[Secret] = field(default_factory=list)
    # secret name -> every file:line it was found at
    found: dict[str, list[str]] = field(default_factory=dict)


def log_files(directories: Iterable[Path]) -> Iterator[Path]:
    for directory in directories:
        yield from sorted(directory.glob("*.log"))


def scan(files: Iterable[Path], secrets: Iterable[Secret]) -> Report:
    report = Report()
    for secret in secrets:
        (report.checked if len(secret.value) >= MIN_LENGTH else report.skipped).append(secret)
    needles = [(secret, secret.needles()) for secret in report.checked]
    for path in files:
        report.files += 1
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                report.lines += 1
                line = raw.decode("utf-8", errors="replace")
                for secret, variants in needles:
                    if any(variant in line for variant in variants):
                        report.found.setdefault(secret.name, []).append(f"{path}:{number}")
                if looks_like_card_number(line):
                    report.found.setdefault(CARD_NUMBER, []).append(f"{path}:{number}")
    return report


def render(report: Report) -> str:
    out = [f"log secrets: {report.lines} lines in {report.files} files checked for {len(report.checked)} secret values"]
    if report.skipped:
        names = ", ".join(secret.name for secret in report.skipped)
        out.append(f"log secrets: not searched, shorter than {MIN_LENGTH} characters: {names}")
    for name, where in report.found.items():
        shown = ", ".join(where[:MAX_REPORTED]) + (
            f" and {len(where) - MAX_REPORTED} more" if len(where) > MAX_REPORTED else ""
        )
        out.append(f"log secrets: FOUND {name} in {len(where)} lines: {shown}")
    if not report.found:
        out.append("log secrets: none found")
    return "\n".join(out)


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.security.log_secrets", description="no configured secret in any service log line"
    )
    parser.add_argument("log_dirs", nargs="*", type=Path, default=[DEFAULT_LOG_DIR])
    args = parser.parse_args(argv)
    secrets = secrets_from(os.environ if env is None else env)
    if not secrets:
        print("log secrets: no secret in the environment; run this under payments-stack exec", file=sys.stderr)
        return 2
    report = scan(log_files(args.log_dirs), secrets)
    print(render(report), file=sys.stderr if report.found else sys.stdout)
    if report.lines == 0:
        dirs = ", ".join(str(d) for d in args.log_dirs)
        print(f"log secrets: no log line in {dirs}: nothing was checked", file=sys.stderr)
        return 2
    if not report.checked:
        print("log secrets: every configured secret is too short to search for", file=sys.stderr)
        return 2
    return 1 if report.found else 0


if __name__ == "__main__":
    raise SystemExit(main())
