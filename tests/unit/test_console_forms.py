"""What the console's pages read from a query or a form, pure: the analytics window, a payment search, a
dead-letter selection, an anomaly's resolution, a search of webhook deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from payments_console.analytics.domain import WindowError, window_of
from payments_console.anomalies.domain import ResolutionError, resolution_from_form
from payments_console.dead_letters.domain import SelectionError, describe, selection_from_form
from payments_console.payments.domain import SearchError, search_params
from payments_console.webhooks.domain import FilterError, delivery_filters, delivery_id_of

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_preset_windows_end_now_and_pick_their_bucket() -> None:
    hour = window_of({"window": "hour"}, NOW)
    assert (hour.since, hour.until, hour.bucket) == (NOW - timedelta(hours=1), NOW, "minute")
    week = window_of({"window": "week", "merchant": " acme "}, NOW)
    assert (week.since, week.bucket, week.merchant) == (NOW - timedelta(days=7), "hour", "acme")
    assert window_of({}, NOW).preset == "day"


def test_a_custom_window_is_read_as_utc_and_checked() -> None:
    window = window_of({"window": "custom", "from": "2025-05-31T10:00", "to": "2025-05-31T12:00"}, NOW)
    assert window.since == datetime(2025, 5, 31, 10, 0, tzinfo=UTC)
    assert window.bucket == "minute"
    for bad in ({"from": "yesterday"}, {"from": "2025-05-31T12:00", "to": "2025-05-31T10:00"},
                {"from": "2024-01-01T00:00"}, {"window": "year"}):  # fmt: skip
        with pytest.raises(WindowError):
            window_of({"window": "custom", **bad}, NOW)


def test_a_search_passes_only_known_filters() -> None:
    assert search_params({}) is None
    assert search_params({"recent": "1"}) == {"limit": "100"}
    params = search_params({"id": " pay_1 ", "status": "FAILED", "method": "upi", "from": "2025-05-31T10:00"})
    assert params == {"id": "pay_1", "status": "FAILED", "method": "upi", "from": "2025-05-31T10:00:00.000Z",
                      "limit": "100"}  # fmt: skip
    for bad in ({"status": "LOST"}, {"method": "cash"}, {"id": "x" * 101}, {"to": "soon"}):
        with pytest.raises(SearchError):
            search_params(bad)


def test_a_dead_letter_selection_must_name_something() -> None:
    assert selection_from_form({"id": ["a", "b"]}).ids == ["a", "b"]
    group = selection_from_form({"queue": ["q"], "reason": ["R"]}, dry_run=True)
    assert (group.queue, group.reason, group.dryRun) == ("q", "R", True)
    assert describe(group) == "queue q, reason R"
    assert selection_from_form({"all": ["1"]}).all
    with pytest.raises(SelectionError):
        selection_from_form({})
    with pytest.raises(SelectionError):
        selection_from_form({"all": ["1"], "id": ["a"]})


def test_a_resolution_needs_an_action_and_a_note() -> None:
    assert resolution_from_form({"action": ["refund"], "note": [" captured late "]}).note == "captured late"
    for bad in ({"action": ["resolve"]}, {"note": ["x"]}, {"action": ["delete"], "note": ["x"]},
                {"action": ["resolve"], "note": ["x" * 501]}):  # fmt: skip
        with pytest.raises(ResolutionError):
            resolution_from_form(bad)


def test_a_delivery_search_passes_only_known_filters() -> None:
    assert delivery_filters({}) == {"limit": "100"}
    params = delivery_filters({"status": "failed", "merchant": " acme ", "endpoint": "whep_1", "event": "evt_9",
                               "limit": "5000", "other": "x"})  # fmt: skip
    assert params == {"status": "failed", "merchant": "acme", "endpoint": "whep_1", "event": "evt_9", "limit": "100"}
    for bad in ({"status": "lost"}, {"endpoint": "x" * 101}, {"event": "evt\x00"}, {"merchant": "a\nb"}):
        with pytest.raises(FilterError):
            delivery_filters(bad)


def test_a_delivery_page_names_a_delivery_or_none() -> None:
    assert delivery_id_of("whdl_1") == "whdl_1"
    assert delivery_id_of("") is None
    assert delivery_id_of("x" * 101) is None
    assert delivery_id_of("whdl\x07") is None
