"""Sending mail through the SMTP server `SMTP_URL` names: `smtp://[user:password@]host[:port]` (STARTTLS
when the server offers it) or `smtps://…` (TLS from the first byte). One connection per message."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote

import aiosmtplib
from yarl import URL

from payments_common.config import ConfigError
from payments_common.errors import RetryableError

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class SmtpError(RetryableError):
    """The server could not be reached, or did not take the message: the consumer tries again later."""

    reason = "SMTP_FAILED"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    # kept out of repr, so that logging the config cannot show it
    password: str | None = field(default=None, repr=False)

    def display(self) -> str:
        """Where mail goes, for logs and banners: the password never, the user name only."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(raw: str) -> SmtpConfig | None:
    """None when empty (no mail is sent); a malformed value is refused without quoting it."""
    if not raw.strip():
        return None
    try:
        url = URL(raw.strip())
    except ValueError:
        raise ConfigError("SMTP_URL is not a URL") from None
    if url.scheme not in DEFAULT_PORTS:
        raise ConfigError("SMTP_URL must start with smtp:// or smtps://")
    if not url.host:
        raise ConfigError("SMTP_URL names no host")
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise ConfigError("SMTP_URL must be scheme://[user:password@]host[:port] and nothing more")
    return SmtpConfig(
        host=url.host,
        port=url.explicit_port or DEFAULT_PORTS[url.scheme],
        implicit_tls=url.scheme == "smtps",
        username=unquote(url.raw_user) if url.raw_user else None,
        password=unquote(url.raw_password) if url.raw_password else None,
    )


class SmtpSender:
    def __init__(self, config: SmtpConfig, timeout_seconds: float) -> None:
        self.config = config
        self._timeout = timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        """Returns once the server has accepted the message for every recipient; raises `SmtpError` otherwise."""
        try:
            # the whole conversation, not each step, is bounded: a server trickling answers must not
            # hold the payment email's row lock (and a pool connection) for longer than this
            async with asyncio.timeout(self._timeout):
                await aiosmtplib.send(
                    message,
                    hostname=self.config.host,
                    port=self.config.port,
                    use_tls=self.config.implicit_tls,
                    username=self.config.username,
                    password=self.config.password,
                    timeout=self._timeout,
                )
        except TimeoutError:
            raise SmtpError(f"no answer from {self.config.display()} within {self._timeout:g}s") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SmtpError(f"{type(exc).__name__} from {self.config.display()}: {exc}") from None
