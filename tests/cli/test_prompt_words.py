"""A prompt (or another option's value) that is also a subcommand's name is a value, not the
subcommand: `imagen-tui --once history` makes an image of "history"."""

from __future__ import annotations

import pytest

from imagen_tui.tui.cli import VALUE_OPTIONS, build_parser, subcommand_first

from .helpers import cli


def test_a_prompt_that_names_a_subcommand_makes_an_image() -> None:
    done = cli("--once", "history", "--size", "64x64", "--seed", "1", "--no-preview")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("-history-1.png")


@pytest.mark.parametrize(
    "args",
    [
        ["--negative", "view", "--once", "a fox"],
        ["--style", "usage", "--once", "a fox"],
        ["-o", "jobs", "--once", "a fox"],
        ["--size", "64x64", "--once", "library"],
    ],
)
def test_an_option_value_is_never_taken_for_a_subcommand(args: list[str]) -> None:
    assert subcommand_first(args) is None


def test_global_options_still_come_before_a_subcommand() -> None:
    assert subcommand_first(["--config", "c.toml", "history", "--json"]) == [
        "history", "--config", "c.toml", "--json",
    ]  # fmt: skip


def test_value_options_are_exactly_the_main_parsers_options_that_take_a_value() -> None:
    taking = {
        flag
        for action in build_parser()._actions
        if action.nargs != 0 and action.option_strings
        for flag in action.option_strings
        if flag.startswith("--") or len(action.option_strings) == 1
    }
    assert taking == VALUE_OPTIONS
