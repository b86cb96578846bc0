"""Which dead letters a form selects, and how the listing is laid out on the page. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from payments_common.admin_api.operations import DeadLetterGroup, DeadLetterListing
from payments_console.admin_api.schemas import DeadLetter, Selection

MAX_IDS = 10_000


class SelectionError(ValueError):
    pass


def selection_from_form(form: Mapping[str, list[str]], *, dry_run: bool = False) -> Selection:
    """Ticked ids (`id`, repeated), a group (`queue` and `reason`), or `all`; an empty form selects nothing
    (refused here, as payment-svc would refuse it: "everything" must be asked for)."""
    ids = [value for value in form.get("id", []) if value][:MAX_IDS]
    queue = (form.get("queue") or [""])[0] or None
    reason = (form.get("reason") or [""])[0] or None
    everything = (form.get("all") or [""])[0] == "1"
    if everything and (ids or reason):
        raise SelectionError("'all' does not combine with ticked messages or a reason")
    if not (ids or queue or reason or everything):
        raise SelectionError("tick at least one message, or choose a group")
    return Selection(ids=ids, queue=queue, reason=reason, all=everything, dryRun=dry_run)


def describe(selection: Selection) -> str:
    if selection.all:
        return "every dead letter" + (f" of {selection.queue}" if selection.queue else "")
    parts = []
    if selection.ids:
        parts.append(f"{len(selection.ids)} ticked message" + ("s" if len(selection.ids) != 1 else ""))
    if selection.queue:
        parts.append(f"queue {selection.queue}")
    if selection.reason:
        parts.append(f"reason {selection.reason}")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class GroupView:
    group: DeadLetterGroup
    messages: list[DeadLetter]


def grouped(listing: DeadLetterListing) -> list[GroupView]:
    """Each group (origin queue, reason) with the messages of it the listing holds, oldest first."""
    messages = listing.messages or []
    return [
        GroupView(
            group,
            sorted(
                (m for m in messages if m.origin_queue == group.origin_queue and m.reason == group.reason),
                key=lambda m: -(m.age_seconds or 0.0),
            ),
        )
        for group in listing.groups
    ]
