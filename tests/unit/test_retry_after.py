"""Retry-After in every form providers send: seconds, HTTP date, retry-after-ms."""

from __future__ import annotations

import pytest

from imagen_tui.backends.retry import parse_retry_after

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("value", "ms", "expected"),
    [
        ("7", None, 7.0),
        (" 1.5 ", None, 1.5),
        ("-3", None, 0.0),
        ("Tue, 14 Nov 2023 22:13:50 GMT", None, 30.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", None, 0.0),  # in the past: go now
        ("soon", None, None),
        ("nan", None, None),
        ("inf", None, None),
        (None, "1500", 1.5),
        ("7", "250", 0.25),  # retry-after-ms wins
        ("7", "junk", 7.0),  # a bad ms header falls back to Retry-After
        ("7", "-5", 7.0),
        (None, None, None),
        ("", "", None),
    ],
)
def test_parse_retry_after(value: str | None, ms: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW, ms=ms) == expected
