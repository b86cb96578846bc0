"""Payment methods, in one place: card networks by BIN, the Luhn check, card expiry, the wallets and
banks a payment may name, the summary that is all the system keeps of a method, and how a person reads
that summary.

A card's number and CVV travel from the client through order-svc and payment-svc to the gateway, and
nowhere else: every table, message, log line and answer holds `summary(method)` instead (the last 4
digits, the network and the expiry). The cardholder's name is left out too: nothing needs it after the
gateway, and a receipt that names the card by network and last 4 digits is how cards are shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

CARD: Final = "card"
UPI: Final = "upi"
WALLET: Final = "wallet"
NETBANKING: Final = "netbanking"
METHOD_TYPES: Final[tuple[str, ...]] = (CARD, UPI, WALLET, NETBANKING)

MIN_CARD_DIGITS: Final = 12
MAX_CARD_DIGITS: Final = 19
# ASCII digits only: str.isdigit() would also take "²" or "٤"
_CARD_DIGITS = re.compile(rf"[0-9]{{{MIN_CARD_DIGITS},{MAX_CARD_DIGITS}}}")
_LAST4 = re.compile(r"[0-9]{4}")

# network code (as summaries carry it) -> the name people read
NETWORKS: Final[dict[str, str]] = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "rupay": "RuPay",
    "amex": "American Express",
    "diners": "Diners Club",
    "jcb": "JCB",
    "discover": "Discover",
}
AMEX: Final = "amex"

# (lowest prefix, highest prefix, network): a number belongs to the range whose prefixes, as long as
# `lowest`, hold its own first digits. Longer prefixes are tried first, so Discover's 6011 wins over
# RuPay's 60.
_BIN_RANGES: Final[tuple[tuple[str, str, str], ...]] = tuple(
    sorted(
        (
            ("4", "4", "visa"),
            ("51", "55", "mastercard"),
            ("2221", "2720", "mastercard"),
            ("60", "60", "rupay"),
            ("65", "65", "rupay"),
            ("81", "82", "rupay"),
            ("508", "508", "rupay"),
            ("34", "34", "amex"),
            ("37", "37", "amex"),
            ("300", "305", "diners"),
            ("36", "36", "diners"),
            ("38", "39", "diners"),
            ("3528", "3589", "jcb"),
            ("6011", "6011", "discover"),
            ("644", "649", "discover"),
        ),
        key=lambda entry: -len(entry[0]),
    )
)

# wallet provider code -> the name people read
WALLETS: Final[dict[str, str]] = {
    "paytm": "Paytm",
    "phonepe": "PhonePe",
    "amazonpay": "Amazon Pay",
    "mobikwik": "MobiKwik",
    "freecharge": "Freecharge",
    "airtelmoney": "Airtel Money",
    "jiomoney": "JioMoney",
    "olamoney": "Ola Money",
    "payzapp": "PayZapp",
}

# netbanking bank code (the bank's IFSC prefix, as Razorpay names banks) -> the name people read
BANKS: Final[dict[str, str]] = {
    "HDFC": "HDFC Bank",
    "ICIC": "ICICI Bank",
    "SBIN": "State Bank of India",
    "UTIB": "Axis Bank",
    "KKBK": "Kotak Mahindra Bank",
    "YESB": "Yes Bank",
    "PUNB": "Punjab National Bank",
    "BARB": "Bank of Baroda",
    "CNRB": "Canara Bank",
    "UBIN": "Union Bank of India",
    "BKID": "Bank of India",
    "IDFB": "IDFC FIRST Bank",
    "INDB": "IndusInd Bank",
    "FDRL": "Federal Bank",
    "IBKL": "IDBI Bank",
}


def card_digits(number: str) -> str | None:
    """The card number's digits once spaces are removed (`4111 1111 1111 1111` as printed on the card),
    or None when what is left is not 12 to 19 ASCII digits."""
    digits = number.replace(" ", "")
    return digits if _CARD_DIGITS.fullmatch(digits) else None


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number (ISO/IEC 7812): catches any single mistyped digit and most
    swapped neighbours."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - ord("0")
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def network_of(digits: str) -> str | None:
    """The card network from the number's leading digits (its BIN); None for a range not listed."""
    for lowest, highest, network in _BIN_RANGES:
        prefix = digits[: len(lowest)]
        if len(prefix) == len(lowest) and prefix.isdigit() and int(lowest) <= int(prefix) <= int(highest):
            return network
    return None


def cvv_length(network: str | None) -> int:
    """American Express prints a 4-digit code on the front; every other network a 3-digit one."""
    return 4 if network == AMEX else 3


def card_expired(month: int, year: int, now: datetime) -> bool:
    """A card is good through the last moment of its expiry month, in UTC (as networks count it)."""
    today = now.astimezone(UTC)
    return (today.year, today.month) > (year, month)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _card_summary(method: Mapping[str, Any]) -> dict[str, Any]:
    last4: str | None = None
    network: str | None = None
    if "number" in method:
        number = method["number"]
        digits = card_digits(number) if isinstance(number, str) else None
        # a number too malformed to be a card's gives nothing: a slice of it could be anything
        if digits is not None:
            last4, network = digits[-4:], network_of(digits)
    else:
        # already a summary: only what is well-formed is kept, so nothing else of the input slips through
        given_last4 = _text(method.get("last4"))
        last4 = given_last4 if given_last4 is not None and _LAST4.fullmatch(given_last4) else None
        given_network = _text(method.get("network"))
        network = given_network if given_network in NETWORKS else None
    return {
        "type": CARD,
        "last4": last4,
        "network": network,
        "expiryMonth": _integer(method.get("expiryMonth")),
        "expiryYear": _integer(method.get("expiryYear")),
    }


def summary(method: Mapping[str, Any]) -> dict[str, Any]:
    """What the system keeps of a method: for a card `{"type", "last4", "network", "expiryMonth",
    "expiryYear"}` (never the number, the CVV or the holder's name); `{"type", "vpa"}` for UPI,
    `{"type", "provider"}` for a wallet, `{"type", "bank"}` for netbanking; only `{"type"}` for a type
    it does not know. Built from named fields only, never by copying the input, and idempotent: the
    summary of a summary is itself."""
    kind = method.get("type")
    if kind == CARD:
        return _card_summary(method)
    if kind == UPI:
        return {"type": UPI, "vpa": _text(method.get("vpa"))}
    if kind == WALLET:
        return {"type": WALLET, "provider": _text(method.get("provider"))}
    if kind == NETBANKING:
        return {"type": NETBANKING, "bank": _text(method.get("bank"))}
    return {"type": _text(kind)}


def summary_or_none(method: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if method is None else summary(method)


def describe(method: Mapping[str, Any] | None) -> str:
    """The method as a person reads it on a receipt or in an email: "Visa card ending 1111, expires
    12/2030", "UPI success@razorpay", "Wallet: Paytm", "Netbanking: HDFC Bank". Takes a summary; given
    a whole method it describes that method's summary, so it can never print a card number."""
    if method is None:
        return "Not specified"
    shown = summary(method)
    kind = shown["type"]
    if kind == CARD:
        network = NETWORKS.get(shown["network"] or "")
        text = f"{network} card" if network else "Card"
        if shown["last4"]:
            text += f" ending {shown['last4']}"
        month, year = shown["expiryMonth"], shown["expiryYear"]
        if month is not None and year is not None:
            text += f", expires {month:02d}/{year}"
        return text
    if kind == UPI:
        return f"UPI {shown['vpa']}" if shown["vpa"] else "UPI"
    if kind == WALLET:
        provider = shown["provider"]
        return f"Wallet: {WALLETS.get(provider, provider)}" if provider else "Wallet"
    if kind == NETBANKING:
        bank = shown["bank"]
        return f"Netbanking: {BANKS.get(bank, bank)}" if bank else "Netbanking"
    return "Not specified"
