"""The commented sample written by `imagen-tui config init`, generated from the models.

Each option is documented by its field's attribute docstring and shown commented out with its
default, so the sample never drifts from what `load_config` accepts.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from enum import Enum
from pathlib import Path
from typing import Any

from . import registry
from .base import BackendOptions
from .config import (
    DEFAULT_BACKEND,
    Config,
    LimitsConfig,
    OutputConfig,
    PreviewConfig,
    StyleConfig,
)
from .errors import ConfigError
from .schema import INTERNAL, default_of, fields_of, is_required

HEADER = """\
# imagen-tui configuration.
#
# Written by `imagen-tui config init`; check it with `imagen-tui config validate`.
# Settings apply in this order, later ones winning: built-in defaults, this file,
# IMAGEN_* environment variables, command-line flags. Environment variables name keys with
# `__` between levels: IMAGEN_DEFAULT_BACKEND, IMAGEN_OUTPUT__DIR, IMAGEN_PREVIEW__MODE,
# IMAGEN_BACKENDS__<NAME>__<OPTION> (`_` for `-` in NAME). A commented-out key shows its default.
"""

BACKENDS_INTRO = """\
# Backends: each [backends.<name>] table is one instance of a backend type. `type` picks the
# type (installed: {types}); the other keys are that type's options (every type
# accepts {common}). A `mock` instance is built in even when no table names it.
"""

API_EXAMPLE = """\
# An API backend (`imagen-tui backends openai` lists its options):
# [backends.openai]
# type = "openai"
# api_key_env = "OPENAI_API_KEY"   # the variable holding the key, never the key itself
# model = "gpt-image-2"
"""

STYLES_INTRO = """\
# Styles: [styles.<name>] prompt templates, chosen with `--style <name>` or in the TUI.
"""

EXAMPLE_STYLE = {
    "prompt": "cinematic photo of {prompt}, 35mm, shallow depth of field",
    "negative": "blurry, low quality",
}
EXAMPLES = {"theme": "imagen-dark"}  # shown commented out for options unset by default
MOCK_ACTIVE = ("latency_s", "steps")  # shown set, to show how a table's options look


def field_docs(model: type) -> dict[str, str]:
    """Each field's attribute docstring, read from the source of the class and its bases."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls is not object:
            docs.update(_source_docstrings(cls))
    return {name: docs.get(name, "") for name in fields_of(model)}


def _source_docstrings(cls: type) -> dict[str, str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):  # no source (frozen app, REPL): go without
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def toml_value(value: Any) -> str:
    """A scalar as a TOML literal (paths under the home folder written with `~`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        home = Path.home()
        value = f"~/{value.relative_to(home)}" if value.is_relative_to(home) else str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _option_lines(
    model: type, active: dict[str, Any], skip: set[str], examples: dict[str, Any]
) -> list[str]:
    """`# doc` then `key = value` (active) or `# key = default` (or example) for each field."""
    lines: list[str] = []
    for name, doc in field_docs(model).items():
        field = fields_of(model)[name]
        if name in skip or field.metadata.get(INTERNAL):
            continue
        lines += [f"# {line}" for line in doc.splitlines()]
        if name in active:
            lines.append(f"{name} = {toml_value(active[name])}")
            continue
        default = None if is_required(field) else default_of(field)
        default = examples.get(name) if default is None else default
        lines.append(f"# {name} = " + ("(not set)" if default is None else toml_value(default)))
    return lines


def _section(header: str, model: type, active: dict[str, Any] | None = None) -> str:
    return "\n".join([f"[{header}]", *_option_lines(model, active or {}, set(), {})]) + "\n"


def _backends() -> str:
    intro = BACKENDS_INTRO.format(
        types=", ".join(registry.type_names()), common=" and ".join(fields_of(BackendOptions))
    )
    lines = [f"[backends.{DEFAULT_BACKEND}]", f'type = "{DEFAULT_BACKEND}"']
    try:
        options = registry.backend_type(DEFAULT_BACKEND).Options
    except ConfigError:  # the sample must still be valid if the mock type can't load
        options = None
    if options is not None:
        defaults = {n: default_of(f) for n, f in fields_of(options).items() if n in MOCK_ACTIVE}
        lines += _option_lines(options, defaults, set(), {})
    return intro + "\n" + "\n".join(lines) + "\n\n" + API_EXAMPLE


def _top_level() -> str:
    tables = {n for n in fields_of(Config) if n not in ("default_backend", "theme")}
    lines = _option_lines(Config, {"default_backend": DEFAULT_BACKEND}, tables, EXAMPLES)
    return "\n".join(lines) + "\n"


def _styles() -> str:
    return STYLES_INTRO + _section("styles.cinematic", StyleConfig, EXAMPLE_STYLE)


def _keys() -> str:
    doc = field_docs(Config)["keys"]
    return f"# {doc}\n[keys]\n"


def render_sample() -> str:
    """The whole sample, section by section."""
    parts = [
        HEADER,
        _top_level(),
        _backends(),
        _section("output", OutputConfig),
        _section("preview", PreviewConfig),
        _section("limits", LimitsConfig),
        _styles(),
        _keys(),
    ]
    return "\n".join(parts)
