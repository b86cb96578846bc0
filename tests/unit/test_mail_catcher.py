"""The local mail catcher and how payments-stack decides to run it: every message one whole, sortable
`.eml` file; the catcher only when `SMTP_URL` names no other server; an SMTP password never printed."""

from __future__ import annotations

import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.smtp import Envelope

from payments_tools import mail_catcher
from payments_tools.stack_env import mail_line as _mail_line
from payments_tools.stack_env import use_mail_catcher

# the log check is run as `python -m tests.security.log_secrets` from the repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.security.log_secrets import secrets_from


def _envelope(body: bytes, rcpt: str = "asha@example.com") -> Envelope:
    envelope = Envelope()
    envelope.mail_from = "receipts@payments.local"
    envelope.rcpt_tos = [rcpt]
    envelope.original_content = body
    envelope.content = body
    return envelope


async def test_each_message_becomes_one_eml_file_sorted_by_arrival(tmp_path: Path) -> None:
    drop = mail_catcher.MailDrop(tmp_path)
    for n in range(3):
        body = f"Subject: number {n}\r\nMessage-ID: <{n}@x>\r\n\r\nhello {n}\r\n".encode()
        answer = await drop.handle_DATA(None, None, _envelope(body))  # type: ignore[arg-type]
        assert answer.startswith("250")
    files = sorted(tmp_path.iterdir())
    assert [path.suffix for path in files] == [".eml"] * 3  # no partial file left behind
    parsed = [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in files]
    assert [str(message["Subject"]) for message in parsed] == ["number 0", "number 1", "number 2"]
    assert all(message["X-RcptTo"] == "asha@example.com" for message in parsed)
    assert all(message["X-MailFrom"] == "receipts@payments.local" for message in parsed)


def test_the_catcher_runs_unless_smtp_url_names_another_server() -> None:
    unset: dict[str, str] = {}
    assert use_mail_catcher(unset) is True
    assert unset["SMTP_URL"] == mail_catcher.LOCAL_SMTP_URL == "smtp://127.0.0.1:8025"
    assert use_mail_catcher({"SMTP_URL": ""}) is True
    assert use_mail_catcher({"SMTP_URL": mail_catcher.LOCAL_SMTP_URL}) is True
    external = {"SMTP_URL": "smtps://mailer:relay-password-1@smtp.example.com"}
    assert use_mail_catcher(external) is False
    assert external["SMTP_URL"] == "smtps://mailer:relay-password-1@smtp.example.com"


def test_the_banner_says_where_mail_goes_without_the_password() -> None:
    assert _mail_line({}, Path(".run/mail")) == "mail lands in .run/mail (smtp://127.0.0.1:8025)"
    line = _mail_line({"SMTP_URL": "smtps://mailer:relay-password-1@smtp.example.com"}, None)
    assert line == "sent through smtps://mailer:***@smtp.example.com:465 (SMTP_URL)"
    assert "relay-password-1" not in _mail_line({"SMTP_URL": "ftp://u:relay-password-1@x"}, None)


def test_the_log_check_looks_for_the_smtp_password_too() -> None:
    found = {s.name: s.value for s in secrets_from({"SMTP_URL": "smtp://mailer:relay-password-1@smtp.example.com"})}
    assert found == {"SMTP_URL password": "relay-password-1"}
