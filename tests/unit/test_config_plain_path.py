"""Config and options are dataclasses; pydantic is imported only when there is something to
validate, and the plain path builds exactly what validation would."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagen_tui.backends import load_config
from imagen_tui.backends.adapters.mock_options import MockOptions
from imagen_tui.backends.base import BackendOptions
from imagen_tui.backends.config import _plain_config, _validate, _with_builtin_backend
from imagen_tui.backends.config_errors import Problems
from imagen_tui.backends.errors import ConfigError
from imagen_tui.backends.schema import (
    fields_of,
    set_values,
    to_data,
    validate,
)

NO_PYDANTIC = """
import sys
from imagen_tui.tui.cli import main
try:
    code = main()
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core"))
print("PYDANTIC", loaded, file=sys.stderr)
print("MODULES", sorted(sys.modules), file=sys.stderr)
sys.exit(code)
"""

NOT_FOR_READING = (
    "logging", "struct", "fcntl", "imagen_tui.backends.store.naming",
    "imagen_tui.backends.store.writing", "imagen_tui.backends.store.library",
    "imagen_tui.backends.store.index_bulk", "imagen_tui.backends.imageheader",
    "imagen_tui.backends.adapters.mock", "imagen_tui.backends.adapters.mock_options",
    "imagen_tui.backends.base",
)  # fmt: skip
"""What reading the history needs none of (writing, naming, reindexing, the library's roots,
image headers, backend options) and would pay for at every start; `logging` comes only with a
warning to print."""
NOT_FOR_LISTING = (*NOT_FOR_READING, "unicodedata", "imagen_tui.backends.store.query")
"""A listing without `--search` does not load the search parser either."""
NOT_FOR_ONE_LOCAL_IMAGE = (
    "asyncio", "imagen_tui.backends.scheduler", "imagen_tui.backends.options",
    "imagen_tui.backends.retry", "imagen_tui.backends.interop.recipe", "imagen_tui.tui.tmux",
    "shutil", "secrets", "subprocess", "PIL.JpegImagePlugin",
)  # fmt: skip
"""A single mock image runs inline (`Engine.run_inline`): no event loop, no scheduler or retry
policy, no option merging without `-o`, no recipe types to write infotext, no tmux without a
terminal, and Pillow loads only its PNG plugin."""


def loaded_modules(stderr: str) -> set[str]:
    """The modules a `run_cli` process had loaded when it finished."""
    line = next(line for line in stderr.splitlines() if line.startswith("MODULES "))
    return set(ast.literal_eval(line.removeprefix("MODULES ")))


def run_cli(
    args: list[str], tmp_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEN_", "TMUX"))}
    env.update(extra_env or {})
    for var in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        (tmp_path / var).mkdir(exist_ok=True)
        env[var] = str(tmp_path / var)
    code = NO_PYDANTIC.replace(
        "import sys\n", f"import sys\nsys.argv = ['imagen-tui', *{args!r}]\n", 1
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("args", "unloaded"),
    [
        (["--once", "a lighthouse", "--size", "64x64", "--no-preview"], NOT_FOR_ONE_LOCAL_IMAGE),
        (
            ["--once", "a lighthouse", "--size", "64x64", "--no-sidecar", "--output", "~/pics"],
            NOT_FOR_ONE_LOCAL_IMAGE,
        ),
        (["history", "--limit", "5", "--json"], NOT_FOR_LISTING),
        (["history", "--search", "lighthouse"], NOT_FOR_READING),
    ],
)
def test_default_runs_never_import_pydantic(
    tmp_path: Path, args: list[str], unloaded: tuple[str, ...]
) -> None:
    """Nor does reading the history import what only writing, reindexing or searching need
    (a history process starts in about the time Pillow takes to save a PNG: every module counts)."""
    run_cli(["--once", "a lighthouse", "--size", "64x64", "--no-preview"], tmp_path)
    result = run_cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "PYDANTIC []" in result.stderr
    assert sorted(loaded_modules(result.stderr) & set(unloaded)) == []
    if args[0] == "history":
        assert "lighthouse" in result.stdout  # the image made above was read


def test_a_listing_still_prints_the_configs_warnings(tmp_path: Path) -> None:
    """`logging` is imported only for a warning, and the warning still reaches stderr."""
    env_typo = {"IMAGEN_OUTPUT__DIRR": "/tmp/x"}
    result = run_cli(["history", "--limit", "1"], tmp_path, env_typo)
    assert result.returncode == 0, result.stderr
    assert "warning: environment IMAGEN_OUTPUT__DIRR is not a config key" in result.stderr
    assert "did you mean IMAGEN_OUTPUT__DIR?" in result.stderr


def test_a_config_file_is_validated_with_pydantic(tmp_path: Path) -> None:
    config_dir = tmp_path / "XDG_CONFIG_HOME" / "imagen-tui"
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text("[limits]\nmax_concurrent = 0\n")
    result = run_cli(["history", "--limit", "1"], tmp_path)
    assert result.returncode == 2
    assert (
        "limits.max_concurrent" in result.stderr and "greater than or equal to 1" in result.stderr
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"preview.mode": "off"},
        {"output.sidecar": False, "output.dir": "~/pics"},
        {"output.naming": "{slug}-{seed}.{ext}", "preview.renderer": "sixel"},
    ],
)
def test_the_plain_path_builds_what_validation_builds(overrides: dict[str, object]) -> None:
    env = {"HOME": "/home/someone"}
    plain = load_config(env=env, overrides=overrides)
    tree = _with_builtin_backend({})
    for key, value in overrides.items():
        section, name = key.split(".")
        tree.setdefault(section, {})[name] = value
    assert _plain_config(dict(tree), env) is not None  # these take the plain path
    validated = _validate(tree, Problems(), env, None)
    assert to_data(plain) == to_data(validated)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"preview.mode": "sometimes"}, "preview.mode"),
        ({"output.sidecar": "yes please"}, "output.sidecar"),
        ({"output.naming": "{nope}"}, "output.naming"),
        ({"limits.max_concurrent": 0}, "limits.max_concurrent"),
    ],
)
def test_what_the_plain_path_cannot_vouch_for_is_validated(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={}, overrides=overrides)
    assert message in str(info.value)


def test_options_subclasses_are_keyword_dataclasses_checked_on_validation() -> None:
    class Flavour(BackendOptions):
        sweetness: int = 3
        """How sweet."""

    assert list(fields_of(Flavour))[-1] == "sweetness"
    assert Flavour(sweetness=5).sweetness == 5
    assert validate(Flavour, {"sweetness": "7"}).sweetness == 7
    with pytest.raises(ValueError, match="Unexpected keyword argument"):
        validate(Flavour, {"saltiness": 1})
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        validate(MockOptions, {"steps": 0})


def test_set_values_are_what_a_table_gave() -> None:
    options = validate(MockOptions, {"steps": 8, "latency_s": 1.5})
    assert set_values(options) == {"steps": 8, "latency_s": 1.5}  # 8 is the default, but set
    assert set_values(MockOptions(latency_s=2.0)) == {"latency_s": 2.0}
