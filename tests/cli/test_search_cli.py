"""`history --search` and the rebuild progress line, through the real CLI."""

from __future__ import annotations

import io
import json

import pytest

from imagen_tui.tui.library_commands import ReindexProgress

from .helpers import cli, one_line


def test_search_finds_cjk_and_filters() -> None:
    for prompt, seed in (
        ("白い猫が雪の中を歩く", "1"),
        ("一只橘猫在窗台上睡觉", "2"),
        ("C++ poster", "3"),
    ):
        res = cli("--once", prompt, "--size", "64x64", "--seed", seed)
        assert res.returncode == 0, res.stderr
    for query, want in (
        ("猫", 2),
        ("雪", 1),
        ("睡觉", 1),
        ("C++", 1),
        ("seed:2", 1),
        ("猫 seed:3", 0),
    ):
        res = cli("history", "--search", query, "--json")
        assert res.returncode == 0, res.stderr
        assert len(res.stdout.splitlines()) == want, query
    res = cli("history", "--search", "橘猫", "--json")
    assert json.loads(res.stdout)["prompt"] == "一只橘猫在窗台上睡觉"


@pytest.mark.parametrize("query", ["***", "seed:x", "model:"])
def test_search_refusal_is_one_line_exit_2(query: str) -> None:
    res = cli("history", "--search", query)
    assert res.returncode == 2
    line = one_line(res.stderr)
    assert line.startswith("imagen-tui: error: --search: ")
    assert res.stdout == ""


def test_refusal_shows_control_characters_visibly() -> None:
    res = cli("history", "--search", "\x1b];\x07 +\u202e")
    assert res.returncode == 2
    assert not {"\x1b", "\x07", "\u202e"} & set(res.stderr)
    assert "search for a word" in one_line(res.stderr)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal() -> None:
    screen, pipe = Terminal(), io.StringIO()
    for stream in (screen, pipe):
        progress = ReindexProgress(stream)
        progress(100, 1000)
        progress(1000, 1000)
        progress.clear()
    assert pipe.getvalue() == ""
    shown = screen.getvalue()
    assert "indexing 100 of 1,000 images (10%)" in shown
    assert "indexing 1,000 of 1,000 images (100%), writing the index" in shown
    assert shown.endswith("\r\x1b[K") and "\n" not in shown  # erased, nothing left behind


def test_reindex_output_on_a_pipe_has_no_progress_line() -> None:
    cli("--once", "a red fox", "--size", "64x64")
    res = cli("history", "--reindex")
    assert res.returncode == 0, res.stderr
    assert "\r" not in res.stderr and "indexing" not in res.stderr
    assert "reindexed" in one_line(res.stderr)
