"""Flags and config values a hostile user gives the CLI: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import cli, one_line


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "command line: output.dir: must not be empty"),
        ("/tmp/\x1b]0;pwned\x07x", "command line: output.dir: must not contain control characters"),
    ],
)
def test_a_bad_output_flag_is_refused(
    isolated_env: dict[str, Path], value: str, expected: str
) -> None:
    res = cli("--once", "fox", "--size", "64x64", "--no-preview", "--output", value)
    assert res.returncode == 2, res.stderr
    line = one_line(res.stderr)
    assert expected in line and "\x1b" not in line
    assert res.stdout == ""


def test_a_bool_for_a_number_in_the_config_file_is_refused(
    isolated_env: dict[str, Path],
) -> None:
    path = isolated_env["config"] / "imagen-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[limits]\nmax_concurrent = true\n")
    res = cli("config", "validate")
    assert res.returncode == 2, res.stderr
    assert f"{path}:2: limits.max_concurrent: must be a number, not true or false" in res.stderr


def test_a_cross_option_problem_names_its_o_flag(isolated_env: dict[str, Path]) -> None:
    path = isolated_env["config"] / "imagen-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[backends.o]\ntype = "openai"\n')
    args = ["-o", "background=transparent", "-o", "output_format=jpeg"]
    res = cli("--once", "fox", "--backend", "o", *args, env={"OPENAI_API_KEY": "sk-test"})
    assert res.returncode == 2, res.stderr
    assert one_line(res.stderr).startswith(
        "imagen-tui: error: -o output_format: a transparent background needs output_format png"
    )
