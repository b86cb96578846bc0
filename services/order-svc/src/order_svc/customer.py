"""The customer of an order: who the receipt email of a successful payment goes to."""

from __future__ import annotations

import unicodedata
from typing import Annotated

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

MAX_EMAIL = 254  # the longest address SMTP can carry (RFC 5321's path limit less the brackets)
MAX_NAME = 100


def _deliverable_address(value: str) -> str:
    # syntax only (no DNS at request time), and no non-ASCII local part: sending one needs SMTPUTF8,
    # which relays may not offer. A non-ASCII domain is fine: it is sent as punycode (`smtp_address`)
    try:
        checked = email_validator.validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return str(checked.normalized)


def smtp_address(address: str) -> str:
    """The address as an SMTP envelope and header carry it: ASCII, an international domain as punycode."""
    checked = email_validator.validate_email(address, check_deliverability=False, allow_smtputf8=False)
    return str(checked.ascii_email or checked.normalized)


def check_header_safe(value: str) -> str:
    """Refuse what cannot go into a mail header: the name goes into the To header, where a CR or LF would
    start a header of the client's choosing (and PostgreSQL text cannot hold NUL). Every control
    character and the Unicode line and paragraph separators are refused, not stripped, so what is
    stored is what was sent."""
    if not value.strip():
        raise ValueError("must not be blank")
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        raise ValueError("must not contain control characters or line breaks")
    return value


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[
        StrictStr,
        Field(min_length=3, max_length=MAX_EMAIL, json_schema_extra={"format": "email"}),
        AfterValidator(_deliverable_address),
    ]
    name: Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME), AfterValidator(check_header_safe)]
