"""A local SMTP server that keeps every message as an `.eml` file instead of delivering it.

`payments-stack` runs one next to the services (for `run` and `exec`) unless `SMTP_URL` names another
server, so the customers' payment emails of a local run land in `.run/mail/`, one file per message,
named so that they sort by arrival (`<nanoseconds>-<random>.eml`). Each file is the message as received,
after two lines saying who the server was told it is from and for (`X-MailFrom`, `X-RcptTo`), and is
written under a temporary name first, so a reader never sees half a message.

    python -m payments_tools.mail_catcher [--host 127.0.0.1] [--port 8025] [--dir .run/mail]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"
PORT = 8025
LOCAL_SMTP_URL = f"smtp://{HOST}:{PORT}"
MAIL_DIR = Path(".run/mail")


class MailDrop:
    """aiosmtpd handler: every accepted message becomes one file in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if isinstance(envelope.content, str):  # only with decode_data=True, which this server does not use
            content = envelope.content.encode()
        trace = f"X-MailFrom: {envelope.mail_from}\r\nX-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        self.write(trace + content)
        return "250 Message accepted for delivery"

    def write(self, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(data)
        final = self.directory / name
        os.replace(partial, final)
        return final


async def start(directory: Path, host: str = HOST, port: int = PORT) -> asyncio.Server:
    """Listening once this returns; close the server to stop it."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = MailDrop(directory)
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        # SMTPUTF8 too: a catcher should take whatever a client may send
        return SMTP(handler, hostname="payments-mail-catcher", enable_SMTPUTF8=True)

    return await loop.create_server(protocol, host, port)


async def _serve(directory: Path, host: str, port: int) -> None:
    server = await start(directory, host, port)
    print(f"mail catcher: smtp://{host}:{port}, mail lands in {directory}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m payments_tools.mail_catcher", description=__doc__)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--dir", type=Path, default=MAIL_DIR)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.dir, args.host, args.port))


if __name__ == "__main__":
    main()
