"""What resolving an anomaly asks for, from its form. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ACTIONS = ("resolve", "refund")
# a refund makes sense only where money was captured for a payment the system kept FAILED
REFUNDABLE_KINDS = ("SUCCESS_AFTER_FAILED",)
MAX_NOTE = 500


class ResolutionError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Resolution:
    action: str
    note: str


def resolution_from_form(form: Mapping[str, list[str]]) -> Resolution:
    action = (form.get("action") or [""])[0]
    note = (form.get("note") or [""])[0].strip()
    if action not in ACTIONS:
        raise ResolutionError("choose to mark it resolved or to refund the captured money")
    if not note:
        raise ResolutionError("say in a note what was found or done")
    if len(note) > MAX_NOTE or any(c < " " and c not in "\n\t" for c in note):
        raise ResolutionError(f"a note is at most {MAX_NOTE} characters of text")
    return Resolution(action, note)
