"""The config file: layering, validation with every problem located, and the sample."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagen_tui.backends import paths, registry
from imagen_tui.backends.adapters.mock import MockOptions
from imagen_tui.backends.base import Backend, BackendOptions
from imagen_tui.backends.config import (
    Config,
    LimitsConfig,
    OutputConfig,
    PreviewConfig,
    StyleConfig,
    load_config,
    resolve_config_path,
    sample_config,
    validate_file,
)
from imagen_tui.backends.config_errors import locate
from imagen_tui.backends.config_sample import field_docs
from imagen_tui.backends.errors import ConfigError
from imagen_tui.backends.schema import fields_of, public_fields, set_values, to_data

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- helpers ---------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path | None = None, **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    return info.value.problems


def toml_str(text: str) -> str:
    escaped = "".join(
        f"\\u{ord(ch):04x}" if ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F else ch
        for ch in text
    )
    return f'"{escaped}"'


def toml_key(key: str) -> str:
    return (
        key
        if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
        else (toml_str(key))
    )


def toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return toml_str(str(value))


def to_toml(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """A minimal TOML writer for nested tables of scalars (tests only)."""
    lines = [f"[{'.'.join(map(toml_key, prefix))}]"] if prefix else []
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in scalars.items()]
    text = "\n".join(lines) + "\n"
    for key, value in data.items():
        if isinstance(value, dict):
            text += to_toml(value, (*prefix, key))
    return text


class FakeOptions(BackendOptions):
    colour: str = "red"
    """A test option."""


class FakeBackend(Backend):
    type_name = "fake"
    Options = FakeOptions

    async def generate(self, request, ctx):  # type: ignore[no-untyped-def]  # pragma: no cover
        raise NotImplementedError


@pytest.fixture
def fake_type() -> Iterator[None]:
    registry.register("fake", FakeBackend)
    yield
    registry.unregister("fake")


# --- defaults and layering -------------------------------------------------------------------


def test_no_file_means_builtin_mock_default() -> None:
    config = load_config()
    assert config.source is None
    assert config.default_backend == "mock"
    assert list(config.backends) == ["mock"]
    assert config.instance("mock").type == "mock"
    assert isinstance(config.instance("mock").options, MockOptions)
    assert config.output.dir == paths.default_output_dir()
    assert config.output.naming == "{date}/{time}-{slug}-{seed}.{ext}"
    assert (config.preview.mode, config.limits.max_concurrent, config.limits.retries) == (
        "auto",
        4,
        3,
    )
    assert Config() == config


def test_file_values_are_used(tmp_path: Path, isolated_env: dict[str, Path]) -> None:
    path = write(
        tmp_path,
        """
default_backend = "fast"
theme = "imagen-light"
[backends.fast]
type = "mock"
steps = 3
latency_s = 0
[output]
dir = "~/Pictures/imagen"
naming = "{backend}/{n:03d}.{ext}"
sidecar = false
[preview]
mode = "off"
renderer = "halfcell"
[styles.noir]
prompt = "film noir still of {prompt}"
negative = "colour"
[limits]
max_concurrent = 2
retries = 0
[keys]
"app.generate" = "ctrl+g"
""",
    )
    config = load_config(path)
    assert config.source == path
    assert (config.default_backend, config.theme) == ("fast", "imagen-light")
    fast = config.instance("fast")
    assert (fast.name, fast.type, fast.options.steps, fast.options.latency_s) == (
        "fast",
        "mock",
        3,
        0.0,
    )
    assert set(config.backends) == {"fast", "mock"}  # the built-in instance stays
    assert config.output.dir == isolated_env["home"] / "Pictures" / "imagen"
    assert (config.output.naming, config.output.sidecar) == ("{backend}/{n:03d}.{ext}", False)
    assert (config.preview.mode, config.preview.renderer) == ("off", "halfcell")
    assert config.style("noir").apply("a cat") == "film noir still of a cat"
    assert config.style("noir").negative == "colour"
    assert (config.limits.max_concurrent, config.limits.retries) == (2, 0)
    assert config.keys == {"app.generate": "ctrl+g"}


def test_user_defined_mock_replaces_builtin(tmp_path: Path) -> None:
    path = write(tmp_path, '[backends.mock]\ntype = "mock"\nsteps = 2\n')
    assert load_config(path).instance("mock").options.steps == 2


def test_output_dir_expands_env_vars_and_reports_unset_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[output]\ndir = "$ALBUM/${SUB}/x"\n')
    config = load_config(path, env={"ALBUM": "/srv/album", "SUB": "2024"})
    assert config.output.dir == Path("/srv/album/2024/x")
    assert problems_of(path, env={"ALBUM": "/srv"}) == [
        f"{path}:2: output.dir: environment variable $SUB is not set"
    ]


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[backends.my-sd]\ntype = "mock"\nsteps = 3\n[output]\nnaming = "{slug}.{ext}"\n',
    )
    env = {
        "IMAGEN_OUTPUT__NAMING": "{seed}.{ext}",
        "IMAGEN_OUTPUT__SIDECAR": "false",
        "IMAGEN_LIMITS__MAX_CONCURRENT": "7",
        "IMAGEN_DEFAULT_BACKEND": "my-sd",
        "IMAGEN_THEME": "imagen-light",
        "IMAGEN_BACKENDS__MY_SD__STEPS": "12",
        "IMAGEN_BACKENDS__MOCK__LATENCY_S": "0.5",
        "IMAGEN_TUI_CONFIG_UNRELATED": "ignored: IMAGEN_TUI_* are not config keys",
    }
    config = load_config(path, env=env)
    assert (config.output.naming, config.output.sidecar) == ("{seed}.{ext}", False)
    assert config.limits.max_concurrent == 7
    assert (config.default_backend, config.theme) == ("my-sd", "imagen-light")
    assert config.instance("my-sd").options.steps == 12
    assert set(config.backends) == {"my-sd", "mock"}  # no stray `my_sd` instance
    assert config.instance("mock").options.latency_s == 0.5


def test_env_defaults_to_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEN_PREVIEW__MODE", "on")
    assert load_config().preview.mode == "on"


def test_overrides_beat_env(tmp_path: Path) -> None:
    path = write(tmp_path, '[preview]\nmode = "on"\n[output]\ndir = "/from/file"\n')
    env = {"IMAGEN_PREVIEW__MODE": "auto", "IMAGEN_OUTPUT__DIR": "/from/env"}
    overrides = {"preview.mode": "off", "output.dir": "/from/flag", "default_backend": None}
    config = load_config(path, env=env, overrides=overrides)
    assert (config.preview.mode, config.output.dir) == ("off", Path("/from/flag"))
    assert config.default_backend == "mock"  # a None override is a flag not given


def test_resolve_config_path_precedence(tmp_path: Path) -> None:
    env = {"IMAGEN_TUI_CONFIG": str(tmp_path / "env.toml")}
    assert resolve_config_path(tmp_path / "flag.toml", env) == tmp_path / "flag.toml"
    assert resolve_config_path(None, env) == tmp_path / "env.toml"
    assert resolve_config_path(None, {}) == paths.default_config_path()


def test_imagen_tui_config_env_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, 'theme = "from-env-path"\n', "elsewhere.toml")
    monkeypatch.setenv("IMAGEN_TUI_CONFIG", str(path))
    config = load_config()
    assert (config.theme, config.source) == ("from-env-path", path)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    expected = (
        f"config file {missing} not found: create it with `imagen-tui config init > {missing}`"
    )
    assert problems_of(missing) == [expected]
    assert problems_of(env={"IMAGEN_TUI_CONFIG": str(missing)}) == [expected]
    assert validate_file(missing) == [expected]


# --- problems --------------------------------------------------------------------------------


def test_every_problem_is_reported_with_key_path_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[output]\nsidecar = "maybe"\n\n[preview]\nmode = "sometimes"\n[limits]\nretries = -1\n',
    )
    assert problems_of(path) == [
        f"{path}:2: output.sidecar: Input should be a valid boolean, unable to interpret input",
        f"{path}:5: preview.mode: Input should be 'auto', 'on' or 'off'",
        f"{path}:7: limits.retries: Input should be greater than or equal to 0",
    ]
    assert validate_file(path) == problems_of(path)


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "x"\n[output]\ndirr = "/x"\n[limits]\nwhatever = 1\n')
    assert problems_of(path) == [
        f"{path}:3: output.dirr: unknown key; did you mean 'dir'?",
        f"{path}:5: limits.whatever: unknown key; allowed: budget_usd_per_day, "
        "max_concurrent, retries",
    ]


def test_source_is_not_a_settable_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "x"\nsource = "/elsewhere.toml"\n')
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:2: source: unknown key; ")


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_backend = "mock"\n[output\ndir = 1\n')
    assert problems_of(path) == [
        f"{path}:2: invalid TOML: Expected ']' at the end of a table declaration (column 8)"
    ]


def test_unknown_backend_type_lists_installed_types(tmp_path: Path, fake_type: None) -> None:
    path = write(tmp_path, '[backends.x]\ntype = "nope"\n[backends.y]\nsteps = 1\n')
    problems = problems_of(path)
    assert problems[0].startswith(f"{path}:2: backends.x.type: unknown backend type 'nope'; ")
    installed = problems[0].split("installed types: ")[1].split(", ")
    assert installed == registry.type_names()
    assert {"fake", "mock"} <= set(installed)
    assert problems[1] == f"{path}:3: backends.y.type: missing; installed types: " + ", ".join(
        installed
    )


def test_backend_option_errors_use_the_backend_key_path(tmp_path: Path, fake_type: None) -> None:
    path = write(
        tmp_path,
        '[backends.fast]\ntype = "mock"\nsteps = 0\nlatnecy_s = 1\n[backends.f]\ntype = "fake"\n'
        "colour = 3\n",
    )
    assert problems_of(path) == [
        f"{path}:3: backends.fast.steps: Input should be greater than or equal to 1",
        f"{path}:4: backends.fast.latnecy_s: unknown key; did you mean 'latency_s'?",
        f"{path}:7: backends.f.colour: Input should be a valid string",
    ]


def test_bad_default_backend_lists_configured(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_backend = "gpt"\n[backends.a]\ntype = "mock"\n')
    assert problems_of(path) == [
        f"{path}:1: default_backend: unknown backend 'gpt'; configured: a, mock"
    ]
    assert problems_of(None, env={"IMAGEN_DEFAULT_BACKEND": "zz"}) == [
        "environment IMAGEN_DEFAULT_BACKEND: default_backend: unknown backend 'zz'; "
        "configured: mock"
    ]


def test_style_without_placeholder(tmp_path: Path) -> None:
    path = write(tmp_path, '[styles.bad]\nprompt = "a painting"\n[styles."good one"]\n'
                 'prompt = "{prompt}, oil"\n')  # fmt: skip
    assert problems_of(path) == [
        f"{path}:2: styles.bad.prompt: must contain {{prompt}}, where the typed prompt goes"
    ]


def test_naming_template_problems_each_on_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[output]\nnaming = "/{nope}.png"\n')
    problems = problems_of(path)
    assert len(problems) == 2
    assert all(p.startswith(f"{path}:2: output.naming: naming template") or
               p.startswith(f"{path}:2: output.naming: unknown placeholder {{nope}}")
               for p in problems)  # fmt: skip


def test_unknown_env_vars_are_ignored_and_near_misses_warned_without_their_values(
    tmp_path: Path,
) -> None:
    env = {
        "IMAGEN_OUTPUT__DIRR": "/secret-dir-value",
        "IMAGEN_LIMITS____RETRIES": "1",
        "IMAGEN_OPENAI_API_KEY": "sk-live-do-not-echo",
        "IMAGEN_TUI_CONFIG": "",
    }
    config = load_config(None, env=env)  # loads: nothing in env stops it
    assert config.warnings == [
        "environment IMAGEN_LIMITS____RETRIES is not a config key (ignored); "
        "did you mean IMAGEN_LIMITS__RETRIES?",
        "environment IMAGEN_OUTPUT__DIRR is not a config key (ignored); "
        "did you mean IMAGEN_OUTPUT__DIR?",
    ]
    assert "sk-live" not in repr(config) and "secret-dir" not in " ".join(config.warnings)


def test_command_line_problems_are_labelled(tmp_path: Path) -> None:
    assert problems_of(None, overrides={"limits.max_concurrent": 0, "output.dirr": "/x"}) == [
        "command line: output.dirr: unknown key; did you mean 'dir'?",
        "command line: limits.max_concurrent: Input should be greater than or equal to 1",
    ]


def test_instance_and_style_lookups(tmp_path: Path) -> None:
    config = load_config()
    with pytest.raises(ConfigError, match=r"^unknown backend 'x'; configured: mock$"):
        config.instance("x")
    no_styles = f"no styles are defined; add [styles.noir] to {paths.default_config_path()}"
    with pytest.raises(ConfigError) as info:
        config.style("noir")
    assert info.value.problems == [no_styles]
    path = write(tmp_path, '[styles.a]\nprompt = "{prompt}"\n[styles.b]\nprompt = "{prompt}!"\n')
    with pytest.raises(ConfigError, match=r"^unknown style 'c'; defined: a, b$"):
        load_config(path).style("c")


def test_locator_finds_dotted_quoted_and_inline_keys() -> None:
    text = """\
theme = "x"   # line 1
output.dir = "/x"
[backends."my.sd"]
type = "mock"
'steps' = 3
[styles.a]
prompt = \"\"\"
[not.a.table]
key = 1
\"\"\"
preview = { mode = "on" }
"""
    assert locate(text, ("theme",)) == 1
    assert locate(text, ("output", "dir")) == 2
    assert locate(text, ("backends", "my.sd", "type")) == 4
    assert locate(text, ("backends", "my.sd", "steps")) == 5
    assert locate(text, ("backends", "my.sd", "missing")) == 3  # falls back to the table
    assert locate(text, ("styles", "a", "prompt")) == 7
    assert locate(text, ("styles", "a", "preview", "mode")) == 11  # inline: the line of the key
    assert locate(text, ("not", "a", "table", "key")) is None  # inside a multi-line string
    assert locate(text, ("limits", "retries")) is None


# --- sample ------------------------------------------------------------------------------------


def test_sample_config_validates_and_documents_every_option(tmp_path: Path) -> None:
    sample = sample_config()
    path = write(tmp_path, sample)
    assert validate_file(path) == []
    config = load_config(path)
    assert config.default_backend == "mock"
    assert config.style("cinematic").prompt.count("{prompt}") == 1
    assert set(set_values(config.instance("mock").options)) == {"latency_s", "steps"}
    for model, in_sample in [
        (OutputConfig, "[output]"),
        (PreviewConfig, "[preview]"),
        (LimitsConfig, "[limits]"),
        (StyleConfig, "[styles.cinematic]"),
        (MockOptions, "[backends.mock]"),
    ]:
        section = sample.split(in_sample, 1)[1].split("\n[", 1)[0]
        for name, doc in field_docs(model).items():
            assert doc, f"{model.__name__}.{name} has no docstring"
            assert f"{name} = " in section and doc.splitlines()[0] in section
    assert '# [backends.openai]\n# type = "openai"\n# api_key_env = "OPENAI_API_KEY"' in sample
    assert "openai" not in tomllib.loads(sample)["backends"]


def test_every_config_field_has_a_docstring() -> None:
    for model in (Config, OutputConfig, PreviewConfig, StyleConfig, LimitsConfig):
        assert all(field_docs(model).values()), model.__name__


# --- properties ------------------------------------------------------------------------------

SECTIONS: list[tuple[str, str, set[str]]] = [
    ("", "", set(public_fields(Config))),
    ("output", "", set(fields_of(OutputConfig))),
    ("preview", "", set(fields_of(PreviewConfig))),
    ("limits", "", set(fields_of(LimitsConfig))),
    ("backends.extra", 'type = "mock"\n', {"type", *fields_of(MockOptions)}),
    ("styles.s", 'prompt = "{prompt}"\n', set(fields_of(StyleConfig))),
]


@PROPERTY
@given(
    section=st.sampled_from(SECTIONS),
    key=st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True),
    padding=st.integers(0, 4),
)
def test_unknown_keys_always_reported_with_path_and_line(
    tmp_path: Path, section: tuple[str, str, set[str]], key: str, padding: int
) -> None:
    header, body, allowed = section
    if key in allowed:
        return
    text = "# comment\n" * padding + (f"[{header}]\n" if header else "") + body + f"{key} = 1\n"
    path = write(tmp_path, text)
    line = text.count("\n")
    dotted = f"{header}.{key}" if header else key
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:{line}: {dotted}: unknown key; ")


names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
text = st.text(max_size=20)
mock_options = st.fixed_dictionaries(
    {"type": st.just("mock")},
    optional={
        "latency_s": st.floats(0, 600, allow_nan=False),
        "steps": st.integers(1, 500),
        "max_concurrent": st.integers(1, 64),
        "timeout_s": st.floats(0.5, 1e6),
        "fail_with": st.sampled_from(["rate_limited", "timeout", "no_image"]),
    },
)


styles = st.builds(lambda a, b: {"prompt": f"{a}{{prompt}}{b}"}, text, text)


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    backends = draw(st.dictionaries(names, mock_options, max_size=3))
    templates = ["{date}/{time}-{slug}-{seed}.{ext}", "{backend}/{n:03d}.{ext}", "{slug}.{ext}"]
    data: dict[str, Any] = {
        "default_backend": draw(st.sampled_from(sorted({"mock", *backends}))),
        "backends": backends,
        "output": {
            "dir": "/srv/" + draw(names),
            "naming": draw(st.sampled_from(templates)),
            "sidecar": draw(st.booleans()),
        },
        "preview": {"mode": draw(st.sampled_from(["auto", "on", "off"]))},
        "styles": draw(st.dictionaries(names, styles)),
        "limits": {"max_concurrent": draw(st.integers(1, 64)), "retries": draw(st.integers(0, 10))},
        "keys": draw(st.dictionaries(st.from_regex(r"[a-z][a-z_. ]{0,10}", fullmatch=True), text)),
    }
    if draw(st.booleans()):
        data["theme"] = draw(text)
    return data


@PROPERTY
@given(data=valid_configs())
def test_valid_configs_load_and_round_trip(tmp_path: Path, data: dict[str, Any]) -> None:
    config = load_config(write(tmp_path, to_toml(data)), env={})
    assert config.default_backend == data["default_backend"]
    assert config.theme == data.get("theme")
    assert config.output.dir == Path(data["output"]["dir"])
    assert config.preview.mode == data["preview"]["mode"]
    assert {k: getattr(config.limits, k) for k in data["limits"]} == data["limits"]
    assert config.keys == data["keys"]
    assert {n: s.prompt for n, s in config.styles.items()} == {
        n: s["prompt"] for n, s in data["styles"].items()
    }
    for name, table in data["backends"].items():
        options = to_data(config.instance(name).options)
        assert {"type": "mock", **{k: options[k] for k in table if k != "type"}} == table
    again = load_config(write(tmp_path, to_toml(config.as_toml_dict()), "again.toml"), env={})
    assert to_data(again) == to_data(config)
