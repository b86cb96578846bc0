"""Amounts are integers in the currency's minor unit; currencies are ISO 4217 codes."""

from __future__ import annotations

from typing import Final

# minor units per major unit, ISO 4217
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    "INR": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "AED": 2,
    "AUD": 2,
    "CAD": 2,
    "JPY": 0,
}
SUPPORTED_CURRENCIES: Final[frozenset[str]] = frozenset(CURRENCY_EXPONENTS)
MAX_AMOUNT: Final[int] = 10**10

# how a receipt or an email shows each currency; where a bare "$" would be ambiguous the prefix says whose
CURRENCY_SYMBOLS: Final[dict[str, str]] = {
    "INR": "₹",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "SGD": "S$",
    "AED": "AED ",
    "AUD": "A$",
    "CAD": "CA$",
    "JPY": "¥",
}


def format_amount(amount: int, currency: str) -> str:
    """A minor-unit amount as people read it: `format_amount(1500, "INR")` is `₹15.00`, with thousands
    separated (`$1,234.50`). Integer arithmetic only, so no amount is ever rounded."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**exponent)
    text = f"{major:,}" if exponent == 0 else f"{major:,}.{minor:0{exponent}d}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"
