"""`payments-console`: the operators' console on CONSOLE_URL's port (8084).

`payments-console hash-password` reads a password (twice, without echo; or once from stdin when it is
not a terminal) and prints the hash CONSOLE_OPERATORS takes as `name:<hash>`.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from payments_common import service
from payments_console.app import create_app
from payments_console.auth.domain import MAX_PASSWORD, hash_password
from payments_console.settings import SERVICE, Settings

MIN_PASSWORD = 12


def hash_password_command(stdin_is_tty: bool) -> int:
    if stdin_is_tty:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("hash-password: the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        print(f"hash-password: a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=SERVICE, description="The operators' console in the browser.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the console (the default)")
    commands.add_parser("hash-password", help="print a CONSOLE_OPERATORS hash of a password read from the terminal")
    args = parser.parse_args(argv)
    if args.command == "hash-password":
        raise SystemExit(hash_password_command(sys.stdin.isatty()))
    service.main(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
