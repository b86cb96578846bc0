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
