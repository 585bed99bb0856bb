"""Every expected failure: one clear line on stderr, the right exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import cli, one_line, write_plugin


def write_config(isolated_env: dict[str, Path], text: str) -> Path:
    path = isolated_env["config"] / "imagen-tui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--once", "   "], "empty prompt"),
        (["--once", "x", "--size", "big"], "invalid --size 'big'"),
        (["--once", "x", "--size", "10x10"], "--size: 10 px is outside 64..4096"),
        (["--once", "x", "--size", "5000x512"], "--size: 5000 px is outside 64..4096"),
        (["--once", "x", "--seed", "-1"], "--seed: -1 is outside 0..4294967295"),
        (["--once", "x", "--steps", "0"], "--steps: 0 is outside 1..500"),
        (["--once", "x", "--steps", "-3"], "--steps: -3 is outside"),
        (["--once", "x", "-n", "0"], "-n: 0 is outside 1..64"),
        (["--once", "x", "--seed", "abc"], "invalid int value"),
        (["--once", "x", "--backend", "nope"], "unknown backend 'nope'; configured: mock"),
        (["--once", "x", "--style", "noir"], "style"),
        (["--once", "x", "--ref", "/no/such.png"], "--ref /no/such.png: no such file"),
        (["--once", "x", "-o", "latency"], "use -o KEY=VALUE"),
        (["--once", "x", "-o", "nonsense=1"], "-o nonsense"),
        (["--once", "x", "-o", "steps=many"], "-o steps"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], expected: str) -> None:
    res = cli(*args)
    assert res.returncode == 2, res.stderr
    assert expected in one_line(res.stderr)
    assert res.stdout == ""


def test_empty_prompt_from_stdin() -> None:
    res = cli("--once", "-", stdin="\n")
    assert res.returncode == 2 and "empty prompt" in one_line(res.stderr)


def test_ref_that_is_not_an_image(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_text("not a png")
    res = cli("--once", "x", "--ref", str(bogus))
    assert res.returncode == 2 and "not an image" in one_line(res.stderr)


def test_invalid_toml_names_file_and_line(isolated_env: dict[str, Path]) -> None:
    path = write_config(isolated_env, 'default_backend = "mock"\n[output\ndir = "/tmp"\n')
    res = cli("--once", "x")
    assert res.returncode == 2
    line = one_line(res.stderr)
    assert f"{path}:2" in line and "TOML" in line


def test_unknown_config_key_is_named_with_a_suggestion(isolated_env: dict[str, Path]) -> None:
    write_config(isolated_env, '[output]\ndirr = "/tmp/x"\n')
    res = cli("--once", "x")
    assert res.returncode == 2
    line = one_line(res.stderr)
    assert "output.dirr" in line and "did you mean 'dir'" in line


def test_every_config_problem_reported(isolated_env: dict[str, Path]) -> None:
    write_config(
        isolated_env,
        '[output]\ndirr = "/tmp/x"\n[preview]\nmode = "sometimes"\n'
        '[styles.a]\nprompt = "no placeholder"\n',
    )
    res = cli("config", "validate")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 3, res.stderr
    assert any("output.dirr" in ln for ln in lines)
    assert any("preview.mode" in ln for ln in lines)
    assert any("styles.a.prompt" in ln for ln in lines)


def test_unknown_style_names_the_defined_ones(isolated_env: dict[str, Path]) -> None:
    write_config(isolated_env, '[styles.film]\nprompt = "film photo of {prompt}"\n')
    res = cli("--once", "x", "--style", "noir")
    assert res.returncode == 2 and "film" in one_line(res.stderr)


def test_output_dir_not_writable_exits_1_and_names_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    target = blocker / "images"
    res = cli("--once", "x", "--output", str(target))
    assert res.returncode == 1
    line = one_line(res.stderr)
    assert str(target) in line and "not writable" in line


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    res = cli("--once", "x", "--config", str(tmp_path / "nope.toml"))
    assert res.returncode == 2 and "nope.toml" in one_line(res.stderr)


def test_missing_key_env_var_exits_1_naming_it(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    plugins = write_plugin(tmp_path / "plugins")
    write_config(isolated_env, '[backends.cloud]\ntype = "keyed"\n')
    res = cli("--once", "x", "--backend", "cloud", env={"PYTHONPATH": str(plugins)})
    assert res.returncode == 1
    line = one_line(res.stderr)
    assert "auth_missing" in line and "KEYED_API_KEY" in line


def test_plugin_types_register_and_a_broken_one_costs_one_line(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    plugins = write_plugin(tmp_path / "plugins")
    write_config(isolated_env, '[backends.cloud]\ntype = "keyed"\napi_key_env = "MY_KEY"\n')
    res = cli("backends", env={"PYTHONPATH": str(plugins)})
    assert res.returncode == 0, res.stderr
    assert "keyed" in res.stdout and "mock" in res.stdout
    assert "key env var MY_KEY is not set" in res.stdout
    assert "broken" in res.stdout and "unavailable" in res.stdout
    assert len([ln for ln in res.stderr.splitlines() if "broken" in ln]) == 1


def test_bad_flag_lookup_is_a_usage_error_naming_the_flag(isolated_env: dict[str, Path]) -> None:
    write_config(isolated_env, '[styles.film]\nprompt = "film photo of {prompt}"\n')
    res = cli("--once", "x", "--backend", "mock", "--style", "noir")
    assert res.returncode == 2
    line = one_line(res.stderr)
    assert line.startswith("imagen-tui: error: --style: unknown style 'noir'") and "film" in line
