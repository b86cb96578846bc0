"""What PostgreSQL can store: its text and jsonb hold no NUL character, so a value that carries one is
refused where it enters (a 400) rather than failing an insert, or a consumer on every retry."""

from __future__ import annotations

from typing import Any


def has_nul(value: Any) -> bool:
    """True when a NUL stands anywhere in a JSON value: a string, an object's key or value, a list's item."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False
