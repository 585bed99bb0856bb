"""The config file shared by the TUI and the CLI, with its environment and flag overrides.

Precedence, lowest first: built-in defaults, the TOML file, `IMAGEN_*` environment variables,
command-line overrides. Every problem is gathered and raised at once as one `ConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from . import paths, registry
from .config_errors import (
    KeyPath,
    Problems,
    apply_env,
    apply_overrides,
    did_you_mean,
    not_found,
    read_toml,
)
from .errors import ConfigError
from .schema import (
    FORBID_EXTRA,
    bounds,
    field_error,
    fields_of,
    hints,
    internal,
    plugin_failure,
    public_fields,
    to_data,
)
from .schema import validate as validate_data
from .text import not_utf8, visible

if TYPE_CHECKING:
    from .base import Backend, BackendOptions

CONFIG_ENV = "IMAGEN_TUI_CONFIG"
DEFAULT_BACKEND = "mock"

_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def expand_path(value: str, env: Mapping[str, str]) -> Path:
    """`~` and `$VAR`/`${VAR}` expanded from `env`, made absolute.

    Raises ValueError for an empty value, an unset variable, a control or reordering
    character (NUL, ESC, U+202E...) or bytes that are not UTF-8 in the value or what a
    variable holds: such a path would fail at the first write (the index and sidecars are
    UTF-8), or print escape sequences live with every image path.
    """
    if not value.strip():
        raise ValueError("must not be empty")
    missing = [m[1] or m[2] for m in _VAR.finditer(value) if (m[1] or m[2]) not in env]
    if missing:
        raise ValueError(f"environment variable ${missing[0]} is not set")
    text = _VAR.sub(lambda m: env[m[1] or m[2]], value)
    if visible(text) != text:
        shown = visible(text)
        raise ValueError(f"must not contain control characters: {shown!r}; rename the folder")
    problem = not_utf8(text)
    if problem:
        raise ValueError(f"{problem}: {text!r}; rename the folder")
    if text == "~" or text.startswith("~/"):
        text = env.get("HOME", str(Path.home())) + text[1:]
    return Path(os.path.abspath(os.path.expanduser(text)))


@dataclass(kw_only=True)
class OutputConfig:
    """`[output]`: where images go and how they are named."""

    __pydantic_config__ = FORBID_EXTRA

    dir: Path = field(default_factory=paths.default_output_dir)
    """Folder for images; `~` and `$VARS` are expanded, a relative path starts at the cwd."""
    naming: str = "{date}/{time}-{slug}-{seed}.{ext}"
    """File path below `dir`; placeholders: {date} {time} {slug} {seed} {backend} {n} {ext}."""
    sidecar: bool = True
    """Write a JSON file with the prompt and settings next to each image."""


@dataclass(kw_only=True)
class PreviewConfig:
    """`[preview]`: showing finished images."""

    __pydantic_config__ = FORBID_EXTRA

    mode: Literal["auto", "on", "off"] = "auto"
    """Open each new image in a tmux window: auto = only inside tmux with a terminal."""
    renderer: Literal["auto", "kitty", "sixel", "halfcell", "unicode", "off"] = "auto"
    """How images are drawn in the terminal; auto picks the best the terminal supports."""


@dataclass(kw_only=True)
class StyleConfig:
    """`[styles.<name>]`: a prompt template chosen with `--style <name>`."""

    __pydantic_config__ = FORBID_EXTRA

    prompt: str
    """The prompt to send; `{prompt}` is replaced by what you typed (it must appear)."""
    negative: str = ""
    """Negative prompt this style adds, for backends that take one."""

    def __post_init__(self) -> None:
        if isinstance(self.prompt, str) and "{prompt}" not in self.prompt:
            raise field_error("prompt", "must contain {prompt}, where the typed prompt goes")

    def apply(self, prompt: str) -> str:
        """The typed prompt put into this style's template."""
        return self.prompt.replace("{prompt}", prompt)


@dataclass(kw_only=True)
class LimitsConfig:
    """`[limits]`: global caps on work in flight."""

    __pydantic_config__ = FORBID_EXTRA

    max_concurrent: int = field(default=4, metadata=bounds(ge=1, le=64))
    """Most jobs running at once across all backends."""
    retries: int = field(default=3, metadata=bounds(ge=0, le=10))
    """Retry attempts after a rate limit (429), a server error (5xx) or a network error."""
    budget_usd_per_day: float | None = field(default=None, metadata=bounds(ge=0))
    """Refuse a job whose estimated cost would take today's spend (USD) past this; unset = none."""


@dataclass(kw_only=True)
class NotifyConfig:
    """`[notify]`: telling you a job finished while you look at another tmux window."""

    __pydantic_config__ = FORBID_EXTRA

    tmux_message: bool = True
    """Show a tmux display-message naming the finished image."""
    bell: bool = False
    """Ring the terminal bell too."""


@dataclass(kw_only=True)
class LibraryConfig:
    """`[library]`: folders of images made by other tools, indexed in place (read-only)."""

    __pydantic_config__ = FORBID_EXTRA

    roots: list[Path] = field(default_factory=list)
    """Folders to index besides the output dir, e.g. ["~/ComfyUI/output"]."""


@dataclass(kw_only=True)
class BackendInstance:
    """One `[backends.<name>]` table: a named, configured instance of a backend type."""

    __pydantic_config__ = FORBID_EXTRA

    name: str
    """The `<name>` of its `[backends.<name>]` table."""
    type: str
    """The backend type it is an instance of (`imagen-tui backends` lists them)."""
    options: BackendOptions
    """The table's other keys, validated by that type's `Options` dataclass."""


def _bind_backend_types() -> None:
    """Bind `Backend` and `BackendOptions` in this module, where pydantic and `get_type_hints`
    resolve `BackendInstance.options` by name. Importing them (backends/base.py, ~3 ms with the
    options dataclasses) waits until a backend instance is built or the config is validated:
    reading the store's settings (`load_store_config`) needs neither."""
    if "BackendOptions" not in globals():
        from .base import Backend, BackendOptions

        globals().update(Backend=Backend, BackendOptions=BackendOptions)


def _builtin_backends() -> dict[str, BackendInstance]:
    _bind_backend_types()
    options = registry.options_type(DEFAULT_BACKEND)()
    return {DEFAULT_BACKEND: BackendInstance(name="mock", type="mock", options=options)}


@dataclass(kw_only=True)
class Config:
    """The whole configuration, after defaults, file, environment and flags."""

    __pydantic_config__ = FORBID_EXTRA

    default_backend: str = DEFAULT_BACKEND
    """Backend instance used when none is chosen; must name one of [backends.<name>]."""
    theme: str | None = None
    """Colour theme of the TUI, e.g. "imagen-dark"; unset = the built-in default."""
    backends: dict[str, BackendInstance] = field(default_factory=_builtin_backends)
    """Backend instances by name; a `mock` instance is built in unless you define your own."""
    output: OutputConfig = field(default_factory=OutputConfig)
    """Where images go and how they are named."""
    preview: PreviewConfig = field(default_factory=PreviewConfig)
    """Showing finished images."""
    styles: dict[str, StyleConfig] = field(default_factory=dict)
    """Prompt templates by name."""
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    """Global caps on work in flight."""
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    """Telling you a job finished while you look at another tmux window."""
    library: LibraryConfig = field(default_factory=LibraryConfig)
    """Folders of other tools' images, indexed in place."""
    keys: dict[str, Any] = field(default_factory=dict)
    """Key overrides by binding id (the help screen lists the ids), e.g. generate = "f5"."""
    source: Path | None = internal()
    """The file this came from; None when there was none."""
    warnings: list[str] = field(default_factory=list, metadata={"internal": True})
    """Notes that did not stop loading (e.g. an IMAGEN_* variable that nearly names a key)."""

    def instance(self, name: str) -> BackendInstance:
        """The backend instance called `name`; ConfigError lists the configured ones."""
        if name not in self.backends:
            raise ConfigError(f"unknown backend {name!r}; configured: {', '.join(self.backends)}")
        return self.backends[name]

    def style(self, name: str) -> StyleConfig:
        """The style called `name`; ConfigError lists the defined ones or says where to add it."""
        if name in self.styles:
            return self.styles[name]
        if not self.styles:
            where = self.source or paths.default_config_path()
            raise ConfigError(f"no styles are defined; add [styles.{name}] to {where}")
        raise ConfigError(f"unknown style {name!r}; defined: {', '.join(self.styles)}")

    def as_toml_dict(self) -> dict[str, Any]:
        """TOML-ready data (unset values left out) that loads back into an equal Config."""
        data: dict[str, Any] = to_data(self, exclude_none=True)  # a dataclass gives a dict
        data["backends"] = {
            name: {"type": inst.type, **to_data(inst.options, exclude_none=True)}
            for name, inst in self.backends.items()
        }
        return data


_SECTIONS: dict[str, type] = {
    "output": OutputConfig,
    "preview": PreviewConfig,
    "limits": LimitsConfig,
    "notify": NotifyConfig,
    "library": LibraryConfig,
}
"""The tables with fixed keys, each one section dataclass (a test keeps this complete)."""


def resolve_config_path(
    explicit: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """The config file to use: `--config`, else $IMAGEN_TUI_CONFIG, else the XDG default."""
    env = os.environ if env is None else env
    chosen = explicit or env.get(CONFIG_ENV)
    return Path(chosen).expanduser() if chosen else paths.default_config_path()


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Load and validate; `overrides` maps dotted keys ("output.dir") to flag values (None = unset).

    A missing file is an error unless it is the default location, which means "all defaults".
    """
    env = os.environ if env is None else env
    tree, problems, warnings = _read(path, env, overrides or {})
    config = None if problems else _plain_config(tree, env, problems.file)
    if config is None:
        config = _validated(tree, problems, env)
    config.warnings = warnings
    return config


def load_store_config(
    path: Path | None = None, *, env: Mapping[str, str] | None = None
) -> tuple[OutputConfig, LibraryConfig, list[str]]:
    """The `[output]` and `[library]` sections and the load's warnings: what the history store
    needs. The file is checked exactly as by `load_config` (ConfigError with every problem),
    but a config that needs no validation builds no backend instance, so a history listing
    imports no backend options."""
    env = os.environ if env is None else env
    tree, problems, warnings = _read(path, env, {})
    sections = None if problems else _plain_sections(tree, env)
    if sections is None:
        config = _validated(tree, problems, env)
        return config.output, config.library, warnings
    output, library = sections.get("output"), sections.get("library")
    return output or OutputConfig(), library or LibraryConfig(), warnings


def _read(
    path: Path | None, env: Mapping[str, str], overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], Problems, list[str]]:
    """The file's tree with the built-in backend, the environment and `overrides` applied; the
    problems found so far; the warnings (near-miss IMAGEN_* variables)."""
    path = resolve_config_path(path, env)
    raw, text = ({}, None) if _missing_default(path) else read_toml(path)
    problems = Problems(path if text is not None else None, text or "")
    tree = _with_builtin_backend(raw)
    known = _KnownKeys(tree)
    warnings = apply_env(tree, env, problems, known, known.env_names)
    _env_arrays(tree, problems, known)
    apply_overrides(tree, overrides, problems)
    return tree, problems, warnings


def _validated(tree: dict[str, Any], problems: Problems, env: Mapping[str, str]) -> Config:
    """The Config pydantic makes of `tree`; ConfigError with every problem, earlier ones too."""
    config = _validate(tree, problems, env, problems.file)
    if problems or config is None:
        raise ConfigError(problems.lines())
    return config


_NOT_FROM_ENV = frozenset({"backends", "styles", "keys", "source", "warnings"})


class _KnownKeys:
    """Which key paths an IMAGEN_* variable may set, given the file's backend instances."""

    def __init__(self, tree: dict[str, Any]) -> None:
        backends = tree.get("backends")
        self.instances = dict(backends) if isinstance(backends, dict) else {}

    def __call__(self, path: KeyPath) -> bool:
        head, rest = path[0], path[1:]
        fields = fields_of(Config)
        if not rest:
            return head in fields and head not in _NOT_FROM_ENV
        if head == "keys":
            return len(rest) == 1
        if head == "styles":
            return len(rest) == 2 and rest[1] in fields_of(StyleConfig)
        if head == "backends":
            return len(rest) == 2 and rest[1] in self._options(rest[0])
        section = _SECTIONS.get(head)
        return section is not None and len(rest) == 1 and rest[0] in fields_of(section)

    def _options(self, instance: str) -> set[str]:
        table = self.instances.get(instance)
        type_name = table.get("type") if isinstance(table, dict) else None
        if not isinstance(type_name, str):
            return set()
        try:
            return {"type", *fields_of(registry.options_type(type_name))}
        except ConfigError:
            return set()

    def annotation(self, path: KeyPath) -> Any:
        """The type of the field at a settable key path; None when unknown."""
        head, rest = path[0], path[1:]
        if head == "backends" and len(rest) == 2:
            table = self.instances.get(rest[0])
            type_name = table.get("type") if isinstance(table, dict) else None
            try:
                options = registry.options_type(type_name) if isinstance(type_name, str) else None
            except ConfigError:
                return None
            return hints(options).get(rest[1]) if options else None
        section = _SECTIONS.get(head)
        return hints(section).get(rest[0]) if section and len(rest) == 1 else None

    def env_names(self) -> list[str]:
        """Every variable name that sets a key (for did-you-mean on near misses)."""
        names = [n for n in fields_of(Config) if n not in _NOT_FROM_ENV]
        names += [f"{s}__{f}" for s, model in _SECTIONS.items() for f in fields_of(model)]
        for instance in self.instances:
            env_instance = instance.replace("-", "_")
            names += [f"backends__{env_instance}__{o}" for o in self._options(instance)]
        return ["IMAGEN_" + n.upper() for n in names]


def _env_arrays(tree: dict[str, Any], problems: Problems, known: _KnownKeys) -> None:
    """An IMAGEN_* variable for a list key holds a TOML array (`["~/a", "~/b"]`): parsed here,
    in place; one that does not is a problem (and its key is dropped, so it is reported once)."""
    for path, origin in problems.origins.items():
        if not origin.startswith("environment ") or get_origin(known.annotation(path)) is not list:
            continue
        import tomllib  # only for such a variable

        node: Any = tree
        for part in path[:-1]:
            node = node[part]
        try:
            value = tomllib.loads(f"value = {node[path[-1]]}")["value"]
        except tomllib.TOMLDecodeError:
            value = None
        if isinstance(value, list):
            node[path[-1]] = value
            continue
        del node[path[-1]]
        problems.add(path, 'must be a TOML array, e.g. ["~/a", "~/b"] (quoted for the shell)')


def validate_file(path: Path, *, env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem loading `path` would raise (with the environment applied); [] when fine."""
    if not path.exists():
        return [not_found(path)]
    try:
        load_config(path, env=env)
    except ConfigError as exc:
        return exc.problems
    return []


def sample_config() -> str:
    """A commented sample config for `imagen-tui config init`; it passes `validate_file`."""
    from .config_sample import render_sample  # it imports this module

    return render_sample()


def _missing_default(path: Path) -> bool:
    """A missing file at the default location just means "all defaults"."""
    return path == paths.default_config_path() and not path.exists()


def _with_builtin_backend(raw: dict[str, Any]) -> dict[str, Any]:
    tree = dict(raw)
    backends = tree.get("backends", {})
    if isinstance(backends, dict) and DEFAULT_BACKEND not in backends:
        tree["backends"] = {**backends, DEFAULT_BACKEND: {"type": DEFAULT_BACKEND}}
    return tree


def _plain_config(
    tree: dict[str, Any], env: Mapping[str, str], source: Path | None = None
) -> Config | None:
    """The Config when the tree holds nothing pydantic is needed for: only the built-in backend
    and section values that are already of their field's type (`--no-preview`, `--output`);
    None when anything needs validating. Spares `--once` and `history` importing pydantic."""
    sections = _plain_sections(tree, env)
    return None if sections is None else Config(**sections, source=source)


def _plain_sections(tree: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any] | None:
    """The section dataclasses of `_plain_config`, by table name (only the tables the tree
    has); None when anything needs validating."""
    rest = {k: v for k, v in tree.items() if k != "backends"}
    if tree.get("backends") != _with_builtin_backend({})["backends"]:
        return None
    checks = Problems()
    _check_references(tree, [DEFAULT_BACKEND], checks)
    if checks:
        return None
    sections = {}
    for name, values in rest.items():
        section = _SECTIONS.get(name)
        if section is None or not isinstance(values, dict):
            return None
        plain = {key: _plain_value(section, key, value, env) for key, value in values.items()}
        if _NOT_PLAIN in plain.values():
            return None
        sections[name] = section(**plain)
    return sections


_NOT_PLAIN = object()


def _plain_value(section: type, key: str, value: Any, env: Mapping[str, str]) -> Any:
    """`value` if it already is what field `key` of `section` holds (path expanded); else
    _NOT_PLAIN."""
    annotation = hints(section).get(key)
    if annotation is bool or annotation is str:
        return value if type(value) is annotation else _NOT_PLAIN
    if get_origin(annotation) is Literal:
        return value if isinstance(value, str) and value in get_args(annotation) else _NOT_PLAIN
    if annotation is Path and isinstance(value, str | Path):
        try:
            return expand_path(str(value), env)
        except ValueError:
            return _NOT_PLAIN
    return _NOT_PLAIN


def _validate(
    tree: dict[str, Any], problems: Problems, env: Mapping[str, str], source: Path | None
) -> Config | None:
    from pydantic import ValidationError

    _bind_backend_types()
    for name in ("source", "warnings"):  # real fields, but not ones a file may set
        if name in tree:
            del tree[name]
            problems.add((name,), did_you_mean(name, public_fields(Config)))
    raw_backends = tree.pop("backends", {})
    instances = _validate_backends(raw_backends, problems)
    _check_instances(
        instances, list(raw_backends) if isinstance(raw_backends, dict) else [], problems
    )
    _check_references(tree, list(raw_backends) if isinstance(raw_backends, dict) else [], problems)
    _expand_paths(tree, env, problems)
    data = {**tree, "backends": instances, "source": source}
    try:
        return validate_data(Config, data)
    except ValidationError as exc:
        problems.add_validation(exc, Config)
        return None


def _expand_paths(tree: dict[str, Any], env: Mapping[str, str], problems: Problems) -> None:
    """`~` and `$VARS` in output.dir and library.roots, expanded in place before validation."""
    output, library = tree.get("output"), tree.get("library")
    if isinstance(output, dict) and isinstance(output.get("dir"), str | Path):
        try:
            output["dir"] = expand_path(str(output["dir"]), env)
        except ValueError as exc:
            problems.add(("output", "dir"), str(exc))
    roots = library.get("roots") if isinstance(library, dict) else None
    if isinstance(roots, list):
        for index, root in enumerate(roots):
            if not isinstance(root, str | Path):
                continue
            try:
                roots[index] = expand_path(str(root), env)
            except ValueError as exc:
                problems.add(("library", "roots", str(index)), str(exc))


def _validate_backends(raw: Any, problems: Problems) -> dict[str, BackendInstance]:
    if not isinstance(raw, dict):
        problems.add(("backends",), "must be a table of [backends.<name>] tables")
        return {}
    instances = {}
    for name, table in raw.items():
        instance = _validate_instance(name, table, problems)
        if instance is not None:
            instances[name] = instance
    return instances


def _validate_instance(name: str, table: Any, problems: Problems) -> BackendInstance | None:
    where = ("backends", name)
    if not isinstance(table, dict):
        problems.add(where, "must be a table with a `type` key")
        return None
    naming = name_problem(name)
    if naming:
        problems.add(where, f"the backend's name {naming}")
        return None
    options = dict(table)
    type_name = options.pop("type", None)
    if not isinstance(type_name, str):
        state = "missing" if type_name is None else "must be a string"
        problems.add(
            (*where, "type"), f"{state}; installed types: {', '.join(registry.type_names())}"
        )
        return None
    if type_name in registry.BUILTIN_OPTIONS:  # validated without importing the adapter
        model: type = registry.options_type(type_name)
        parse: Any = partial(validate_data, model)
    else:
        cls = _backend_type(where, type_name, problems)
        if cls is None:
            return None
        model, parse = cls.Options, cls.parse_options
    from pydantic import ValidationError

    try:
        parsed = parse(options)
    except ValidationError as exc:
        problems.add_validation(exc, model, where)
        return None
    except ConfigError as exc:  # a plugin's own parse_options may check more
        for problem in exc.problems:
            problems.add(where, problem)
        return None
    except Exception as exc:  # a plugin's __post_init__ raising what validation cannot file
        problems.add(where, plugin_failure(type_name, exc))
        return None
    return BackendInstance(name=name, type=type_name, options=parsed)


def _check_instances(
    instances: Mapping[str, BackendInstance], names: list[str], problems: Problems
) -> None:
    """What each type says about its instance given the others (a pool's members); `names`
    are all the tables, an invalid one (already reported) with type ""."""
    types = {name: instances[name].type if name in instances else "" for name in names}
    for name, instance in instances.items():
        if instance.type in registry.BUILTIN_OPTIONS:  # the mock refers to nothing
            continue
        cls = registry.backend_type(instance.type)  # loaded when its options were checked
        for option, message in cls.instance_problems(name, instance.options, types):
            problems.add(("backends", name, option), message)


def _backend_type(where: KeyPath, type_name: str, problems: Problems) -> type[Backend] | None:
    try:
        return registry.backend_type(type_name)
    except ConfigError as exc:  # unknown or broken type: the message lists installed types
        for problem in exc.problems:
            problems.add((*where, "type"), problem)
        return None


def name_problem(name: str) -> str | None:
    """Why a backend or style name (a table key, shown in lists and chosen with a flag) is
    unusable: empty, or holding a control or reordering character; None when it is fine."""
    if not name.strip():
        return "must not be empty"
    if visible(name) != name:
        return f"must not contain control characters: {visible(name)!r}"
    return None


def _check_references(tree: dict[str, Any], names: list[str], problems: Problems) -> None:
    """Checks pydantic can't do per field: default_backend exists, the naming template works,
    style names are usable."""
    styles = tree.get("styles")
    for style in styles if isinstance(styles, dict) else ():
        naming = name_problem(style)
        if naming:
            problems.add(("styles", style), f"the style's name {naming}")
    default = tree.get("default_backend", DEFAULT_BACKEND)
    if isinstance(default, str) and default not in names:
        problems.add(
            ("default_backend",), f"unknown backend {default!r}; configured: {', '.join(names)}"
        )
    output = tree.get("output")
    naming = output.get("naming") if isinstance(output, dict) else None
    if isinstance(naming, str):
        from .store.naming import validate_template  # the store imports more than config needs

        if visible(naming) != naming:  # it names every file: NUL fails, ESC prints live
            problems.add(
                ("output", "naming"), f"must not contain control characters: {visible(naming)!r}"
            )
        for problem in validate_template(naming):
            problems.add(("output", "naming"), problem)
