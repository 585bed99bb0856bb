"""The metadata panel shows a sidecar's created_at as a local date and time, whatever its form."""

from __future__ import annotations

from datetime import datetime

from imagen_tui.tui.widgets.metadata_panel import metadata_text


def created_line(value: object) -> str:
    text = metadata_text({"prompt": "p", "created_at": value}).plain
    return next(line for line in text.splitlines() if line.startswith("created: "))


def test_epoch_seconds_and_iso_text_read_as_local_time() -> None:
    local = datetime(2026, 11, 30, 9, 15, 2)
    expected = "created: 2026-11-30 09:15:02"
    assert created_line(local.timestamp()) == expected
    assert created_line(local.isoformat()) == expected
    aware = local.astimezone()  # the same instant, with its offset written out
    assert created_line(aware.isoformat()) == expected


def test_what_is_not_a_time_is_shown_as_it_is_and_safely() -> None:
    assert created_line("yesterday") == "created: yesterday"
    assert created_line(10**20) == "created: " + str(10**20)
    assert "\x1b" not in created_line("\x1b[31mred")
    assert created_line(None) == "created: —"
