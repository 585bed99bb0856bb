"""Hostile values in the config file, IMAGEN_* variables and flags: each is refused in one line
naming its key path and where it came from, on the plain path and the validated one alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagen_tui.backends import load_config, registry
from imagen_tui.backends.config import _plain_config, _validate, _with_builtin_backend
from imagen_tui.backends.config_errors import Problems
from imagen_tui.backends.errors import ConfigError, RequestError
from imagen_tui.backends.options import merge
from imagen_tui.backends.text import visible


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return [line.replace(str(path), "FILE") for line in info.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[limits]\nmax_concurrent = true\n", "FILE:2: limits.max_concurrent: must be a number"),
        ("[limits]\nbudget_usd_per_day = false\n", "FILE:2: limits.budget_usd_per_day: must be"),
        ('[backends.m]\ntype = "mock"\nsteps = true\n', "FILE:3: backends.m.steps: must be a"),
        ('[backends.o]\ntype = "openai"\noutput_compression = true\n', "FILE:3: backends.o.outp"),
    ],
)
def test_a_bool_where_a_number_goes_is_refused_not_read_as_one(
    tmp_path: Path, text: str, expected: str
) -> None:
    found = problems(tmp_path, text)
    assert len(found) == 1 and found[0].startswith(expected), found
    assert "not true or false" in found[0]


def test_bools_are_refused_alongside_the_other_problems_of_a_section(tmp_path: Path) -> None:
    found = problems(tmp_path, "[limits]\nmax_concurrent = true\nretries = 99\n")
    assert [line.split(": ")[1] for line in found] == ["limits.max_concurrent", "limits.retries"]


def test_a_bool_option_still_takes_a_bool(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[output]\nsidecar = false\n[notify]\nbell = true\n")
    config = load_config(path, env={})
    assert config.output.sidecar is False and config.notify.bell is True


@pytest.mark.parametrize("value", ["/tmp/a\\u0000b", "/tmp/\\u001b]0;pwned\\u0007x", "/x\\u202ey"])
def test_control_characters_in_a_path_from_the_file_are_refused(tmp_path: Path, value: str) -> None:
    found = problems(tmp_path, f'[output]\ndir = "{value}"\n[library]\nroots = ["{value}"]\n')
    assert [line.split(": ")[:2] for line in found] == [
        ["FILE:2", "output.dir"],
        ["FILE:4", "library.roots.0"],
    ]
    assert all("must not contain control characters" in line for line in found)
    assert not any("\x1b" in line or "\x00" in line for line in found)  # shown, never live


def test_control_characters_from_a_variable_in_a_path_are_refused() -> None:
    env = {"IMAGEN_OUTPUT__DIR": "$PICS/out", "PICS": "/tmp/\x1b[2J"}
    with pytest.raises(ConfigError) as info:
        load_config(env=env)
    (line,) = info.value.problems
    assert line.startswith("environment IMAGEN_OUTPUT__DIR: output.dir: must not contain control")


@pytest.mark.parametrize("value", ["/tmp/a\x00", "/tmp/\x1b[31mred", "\x1b]0;x\x07"])
def test_output_flag_with_control_characters_is_refused_on_the_plain_path_too(
    value: str,
) -> None:
    overrides = {"output.dir": value}
    tree = _with_builtin_backend({"output": {"dir": value}})
    assert _plain_config(dict(tree), {}) is None  # the plain path does not vouch for it
    with pytest.raises(ConfigError) as info:
        load_config(env={}, overrides=overrides)
    (line,) = info.value.problems
    assert line.startswith("command line: output.dir: must not contain control characters")
    full = Problems()
    _validate(tree, full, {}, None)
    assert [line.split(": ")[0] for line in full.lines()] == ["output.dir"]  # validation agrees


def test_cross_option_checks_name_the_option_and_its_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[backends.o]\ntype = "openai"\nmodel = "dall-e-3"\nquality = "high"\n'
        '[backends.t]\ntype = "openai"\nbackground = "transparent"\noutput_format = "jpeg"\n',
    )
    assert found == [
        "FILE:4: backends.o.quality: dall-e-3 takes no quality=high; allowed: auto, hd, standard",
        "FILE:8: backends.t.output_format: a transparent background needs output_format png "
        "or webp",
    ]


def test_cross_option_checks_from_the_environment_name_the_variable(tmp_path: Path) -> None:
    env = {"IMAGEN_BACKENDS__O__QUALITY": "high"}
    found = problems(tmp_path, '[backends.o]\ntype = "openai"\nmodel = "dall-e-3"\n', env)
    assert found == [
        "environment IMAGEN_BACKENDS__O__QUALITY: backends.o.quality: dall-e-3 takes no "
        "quality=high; allowed: auto, hd, standard"
    ]


def test_o_overrides_checked_across_options_name_the_option() -> None:
    cls = registry.backend_type("openai")
    base = cls.parse_options({})
    with pytest.raises(RequestError) as info:
        merge(cls, base, {"background": "transparent", "output_format": "jpeg"})
    assert info.value.fields == [
        ("options.output_format", "a transparent background needs output_format png or webp")
    ]
    with pytest.raises(RequestError) as info:
        merge(cls, base, {"model": "dall-e-3", "quality": "high"})
    assert [field for field, _ in info.value.fields] == ["options.quality"]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_inf_and_nan_are_refused_in_the_file_and_the_environment(
    tmp_path: Path, value: str
) -> None:
    found = problems(
        tmp_path,
        f"[limits]\nbudget_usd_per_day = {value}\n"
        f'[backends.m]\ntype = "mock"\ntimeout_s = {value}\n',
        {"IMAGEN_BACKENDS__MOCK__LATENCY_S": value},
    )
    assert sorted(line.split(": ")[1] for line in found) == [
        "backends.m.timeout_s",
        "backends.mock.latency_s",
        "limits.budget_usd_per_day",
    ]
    assert all(line.endswith("Input should be a finite number") for line in found)


def test_an_infinite_option_override_is_refused() -> None:
    cls = registry.backend_type("mock")
    with pytest.raises(RequestError) as info:
        merge(cls, cls.parse_options({}), {"timeout_s": "inf"})
    assert info.value.fields == [("options.timeout_s", "Input should be a finite number")]


def test_pool_members_are_checked_by_config_validate_with_their_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[backends.gpu]\ntype = "comfyui"\n'
        '[backends.p]\ntype = "pool"\nmembers = ["gpu", "nope", "p", "mock"]\n'
        '[backends.q]\ntype = "pool"\nmembers = [""]\n',
    )
    assert found == [
        "FILE:5: backends.p.members: unknown backend 'nope'; configured: gpu, p, q, mock",
        "FILE:5: backends.p.members: pool 'p' lists itself",
        "FILE:5: backends.p.members: member 'mock' is a mock instance, which cannot report its "
        "queue; members must be comfyui or a1111 instances",
        "FILE:8: backends.q.members: a member name must not be empty",
    ]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[backends.""]\ntype = "mock"\n', 'backends."": the backend\'s name must not be empty'),
        ('[backends."a\\u001bb"]\ntype = "mock"\n', 'backends."a␛b": the backend\'s name must not'),
        ('[styles." "]\nprompt = "{prompt}"\n', 'styles." ": the style\'s name must not be empty'),
        ('[styles."x\\u202e"]\nprompt = "{prompt}"\n', 'styles."x<U+202E>": the style\'s name'),
    ],
)
def test_unusable_backend_and_style_names_are_refused_and_shown_safely(
    tmp_path: Path, table: str, expected: str
) -> None:
    (line,) = problems(tmp_path, table)
    assert expected in line
    assert "\x1b" not in line and "\u202e" not in line


def test_names_in_any_script_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[backends."ünï-cödé"]\ntype = "mock"\n[styles."日本"]\nprompt = "{prompt}"\n')
    config = load_config(path, env={})
    assert "ünï-cödé" in config.backends and "日本" in config.styles


@pytest.mark.parametrize("type_name", ["a1111", "openai", "openai-responses", "gemini", "xai"])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "'' must start with http:// or https://"),
        ("localhost:7860", "'localhost:7860' must start with http:// or https://"),
        ("ftp://host", "'ftp://host' must start with http:// or https://"),
        ("http://", "'http://' names no host"),
    ],
)
def test_an_api_base_url_is_checked_when_the_config_is_read(
    tmp_path: Path, type_name: str, url: str, message: str
) -> None:
    (line,) = problems(tmp_path, f'[backends.b]\ntype = "{type_name}"\nbase_url = "{url}"\n')
    assert line.startswith(f"FILE:3: backends.b.base_url: {message}")


def test_a_base_url_override_is_checked_too() -> None:
    cls = registry.backend_type("replicate")
    with pytest.raises(RequestError) as info:
        merge(cls, cls.parse_options({}), {"base_url": "api.replicate.com"})
    assert [name for name, _ in info.value.fields] == ["options.base_url"]
    assert merge(cls, cls.parse_options({}), {"base_url": "https://gw.example/v1"}).base_url


def test_a_list_key_takes_a_toml_array_from_its_variable(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[backends.c]\ntype = "comfyui"\n[backends.d]\ntype = "comfyui"\n'
        '[backends.p]\ntype = "pool"\nmembers = ["c"]\n'
    )
    env = {
        "HOME": "/home/u",
        "IMAGEN_LIBRARY__ROOTS": '["~/a", "$HOME/b"]',
        "IMAGEN_BACKENDS__P__MEMBERS": '["c", "d"]',
    }
    config = load_config(path, env=env)
    assert config.library.roots == [Path("/home/u/a"), Path("/home/u/b")]
    assert config.backends["p"].options.members == ["c", "d"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["~/a", '["~/a", ', "[1, "])
def test_a_list_variable_that_is_no_array_is_one_line(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={"IMAGEN_LIBRARY__ROOTS": value})
    assert info.value.problems == [
        'environment IMAGEN_LIBRARY__ROOTS: library.roots: must be a TOML array, e.g. ["~/a", '
        '"~/b"] (quoted for the shell)'
    ]


def test_a_file_read_on_the_plain_path_is_still_the_configs_source(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[preview]\nmode = "off"\n')  # nothing pydantic is needed for
    config = load_config(path, env={})
    assert config.source == path
    with pytest.raises(ConfigError, match=f"add \\[styles.noir\\] to {path}"):
        config.style("noir")


@pytest.mark.parametrize(
    "naming", ["{slug}\x1b]0;x\x07.{ext}", "{slug}\x00.{ext}", "{slug}\u202e.{ext}"]
)
def test_a_naming_template_with_control_characters_is_refused_on_both_paths(naming: str) -> None:
    tree = _with_builtin_backend({"output": {"naming": naming}})
    assert _plain_config(dict(tree), {}) is None
    with pytest.raises(ConfigError) as info:
        load_config(env={}, overrides={"output.naming": naming})
    (line,) = info.value.problems
    assert line.startswith("command line: output.naming: must not contain control characters")
    assert visible(line) == line


@pytest.mark.parametrize("type_name", ["openai", "openai-responses", "replicate", "fal", "a1111"])
def test_an_empty_model_is_refused_with_what_to_do(tmp_path: Path, type_name: str) -> None:
    (line,) = problems(tmp_path, f'[backends.b]\ntype = "{type_name}"\nmodel = ""\n')
    assert (
        line == "FILE:3: backends.b.model: must not be empty; leave it unset for the type's default"
    )
