"""The config file shared by the TUI and the CLI, with its environment and flag overrides.

Precedence, lowest first: built-in defaults, the TOML file, `IMAGEN_*` environment variables,
command-line overrides. Every problem is gathered and raised at once as one `ConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from . import paths, registry
from .base import Backend, BackendOptions
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

CONFIG_ENV = "IMAGEN_TUI_CONFIG"
DEFAULT_BACKEND = "mock"

_SECTION = ConfigDict(extra="forbid")
_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def expand_path(value: str, env: Mapping[str, str]) -> Path:
    """`~` and `$VAR`/`${VAR}` expanded from `env`, made absolute; ValueError on an unset var."""
    if not value.strip():
        raise ValueError("must not be empty")
    missing = [m[1] or m[2] for m in _VAR.finditer(value) if (m[1] or m[2]) not in env]
    if missing:
        raise ValueError(f"environment variable ${missing[0]} is not set")
    text = _VAR.sub(lambda m: env[m[1] or m[2]], value)
    if text == "~" or text.startswith("~/"):
        text = env.get("HOME", str(Path.home())) + text[1:]
    return Path(os.path.abspath(os.path.expanduser(text)))


class OutputConfig(BaseModel):
    """`[output]`: where images go and how they are named."""

    model_config = _SECTION

    dir: Path = Field(default_factory=paths.default_output_dir)
    """Folder for images; `~` and `$VARS` are expanded, a relative path starts at the cwd."""
    naming: str = "{date}/{time}-{slug}-{seed}.{ext}"
    """File path below `dir`; placeholders: {date} {time} {slug} {seed} {backend} {n} {ext}."""
    sidecar: bool = True
    """Write a JSON file with the prompt and settings next to each image."""

    @field_validator("dir", mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str | Path):
            return value
        return expand_path(str(value), (info.context or {}).get("env", os.environ))


class PreviewConfig(BaseModel):
    """`[preview]`: showing finished images."""

    model_config = _SECTION

    mode: Literal["auto", "on", "off"] = "auto"
    """Open each new image in a tmux window: auto = only inside tmux with a terminal."""
    renderer: Literal["auto", "kitty", "sixel", "halfcell", "unicode", "off"] = "auto"
    """How images are drawn in the terminal; auto picks the best the terminal supports."""


class StyleConfig(BaseModel):
    """`[styles.<name>]`: a prompt template chosen with `--style <name>`."""

    model_config = _SECTION

    prompt: str
    """The prompt to send; `{prompt}` is replaced by what you typed (it must appear)."""
    negative: str = ""
    """Negative prompt this style adds, for backends that take one."""

    @field_validator("prompt")
    @classmethod
    def _has_placeholder(cls, value: str) -> str:
        if "{prompt}" not in value:
            raise ValueError("must contain {prompt}, where the typed prompt goes")
        return value

    def apply(self, prompt: str) -> str:
        """The typed prompt put into this style's template."""
        return self.prompt.replace("{prompt}", prompt)


class LimitsConfig(BaseModel):
    """`[limits]`: global caps on work in flight."""

    model_config = _SECTION

    max_concurrent: int = Field(default=4, ge=1, le=64)
    """Most jobs running at once across all backends."""
    retries: int = Field(default=3, ge=0, le=10)
    """Retry attempts after a rate limit (429), a server error (5xx) or a network error."""
    budget_usd_per_day: float | None = Field(default=None, ge=0)
    """Refuse a job whose estimated cost would take today's spend (USD) past this; unset = none."""


class NotifyConfig(BaseModel):
    """`[notify]`: telling you a job finished while you look at another tmux window."""

    model_config = _SECTION

    tmux_message: bool = True
    """Show a tmux display-message naming the finished image."""
    bell: bool = False
    """Ring the terminal bell too."""


class LibraryConfig(BaseModel):
    """`[library]`: folders of images made by other tools, indexed in place (read-only)."""

    model_config = _SECTION

    roots: list[Path] = Field(default_factory=list)
    """Folders to index besides the output dir, e.g. ["~/ComfyUI/output"]."""

    @field_validator("roots", mode="before")
    @classmethod
    def _expand(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, list):
            return value
        env = (info.context or {}).get("env", os.environ)
        return [expand_path(str(v), env) if isinstance(v, str | Path) else v for v in value]


class BackendInstance(BaseModel):
    """One `[backends.<name>]` table: a named, configured instance of a backend type."""

    model_config = _SECTION

    name: str
    """The `<name>` of its `[backends.<name>]` table."""
    type: str
    """The backend type it is an instance of (`imagen-tui backends` lists them)."""
    options: SerializeAsAny[BackendOptions]
    """The table's other keys, validated by that type's `Options` model."""


def _builtin_backends() -> dict[str, BackendInstance]:
    options = registry.options_type(DEFAULT_BACKEND)()
    return {DEFAULT_BACKEND: BackendInstance(name="mock", type="mock", options=options)}


class Config(BaseModel):
    """The whole configuration, after defaults, file, environment and flags."""

    model_config = _SECTION

    default_backend: str = DEFAULT_BACKEND
    """Backend instance used when none is chosen; must name one of [backends.<name>]."""
    theme: str | None = None
    """Colour theme of the TUI, e.g. "imagen-dark"; unset = the built-in default."""
    backends: dict[str, BackendInstance] = Field(default_factory=_builtin_backends)
    """Backend instances by name; a `mock` instance is built in unless you define your own."""
    output: OutputConfig = Field(default_factory=OutputConfig)
    """Where images go and how they are named."""
    preview: PreviewConfig = Field(default_factory=PreviewConfig)
    """Showing finished images."""
    styles: dict[str, StyleConfig] = Field(default_factory=dict)
    """Prompt templates by name."""
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    """Global caps on work in flight."""
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    """Telling you a job finished while you look at another tmux window."""
    library: LibraryConfig = Field(default_factory=LibraryConfig)
    """Folders of other tools' images, indexed in place."""
    keys: dict[str, Any] = Field(default_factory=dict)
    """Key overrides by binding id (the help screen lists the ids), e.g. generate = "f5"."""
    source: Path | None = Field(default=None, exclude=True)
    """The file this came from; None when there was none."""
    warnings: list[str] = Field(default_factory=list, exclude=True)
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
        data = self.model_dump(mode="json", exclude_none=True, exclude={"backends"})
        data["backends"] = {
            name: {"type": inst.type, **inst.options.model_dump(mode="json", exclude_none=True)}
            for name, inst in self.backends.items()
        }
        return data


_SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in Config.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}


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
    path = resolve_config_path(path, env)
    raw, text = ({}, None) if _missing_default(path) else read_toml(path)
    problems = Problems(path if text is not None else None, text or "")
    tree = _with_builtin_backend(raw)
    known = _KnownKeys(tree)
    warnings = apply_env(tree, env, problems, known, known.env_names())
    apply_overrides(tree, overrides or {}, problems)
    config = _validate(tree, problems, env, problems.file)
    if problems or config is None:
        raise ConfigError(problems.lines())
    config.warnings = warnings
    return config


_NOT_FROM_ENV = frozenset({"backends", "styles", "keys", "source", "warnings"})


class _KnownKeys:
    """Which key paths an IMAGEN_* variable may set, given the file's backend instances."""

    def __init__(self, tree: dict[str, Any]) -> None:
        backends = tree.get("backends")
        self.instances = dict(backends) if isinstance(backends, dict) else {}

    def __call__(self, path: KeyPath) -> bool:
        head, rest = path[0], path[1:]
        fields = Config.model_fields
        if not rest:
            return head in fields and head not in _NOT_FROM_ENV
        if head == "keys":
            return len(rest) == 1
        if head == "styles":
            return len(rest) == 2 and rest[1] in StyleConfig.model_fields
        if head == "backends":
            return len(rest) == 2 and rest[1] in self._options(rest[0])
        section = _SECTIONS.get(head)
        return section is not None and len(rest) == 1 and rest[0] in section.model_fields

    def _options(self, instance: str) -> set[str]:
        table = self.instances.get(instance)
        type_name = table.get("type") if isinstance(table, dict) else None
        if not isinstance(type_name, str):
            return set()
        try:
            return {"type", *registry.options_type(type_name).model_fields}
        except ConfigError:
            return set()

    def env_names(self) -> list[str]:
        """Every variable name that sets a key (for did-you-mean on near misses)."""
        names = [n for n in Config.model_fields if n not in _NOT_FROM_ENV]
        names += [f"{s}__{f}" for s, model in _SECTIONS.items() for f in model.model_fields]
        for instance in self.instances:
            env_instance = instance.replace("-", "_")
            names += [f"backends__{env_instance}__{o}" for o in self._options(instance)]
        return ["IMAGEN_" + n.upper() for n in names]


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


def _validate(
    tree: dict[str, Any], problems: Problems, env: Mapping[str, str], source: Path | None
) -> Config | None:
    for internal in ("source", "warnings"):  # real fields, but not ones a file may set
        if internal in tree:
            del tree[internal]
            allowed = [n for n, f in Config.model_fields.items() if not f.exclude]
            problems.add((internal,), did_you_mean(internal, allowed))
    raw_backends = tree.pop("backends", {})
    instances = _validate_backends(raw_backends, problems)
    _check_references(tree, list(raw_backends) if isinstance(raw_backends, dict) else [], problems)
    data = {**tree, "backends": instances, "source": source}
    try:
        return Config.model_validate(data, context={"env": env})
    except ValidationError as exc:
        problems.add_validation(exc, Config)
        return None


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
    options = dict(table)
    type_name = options.pop("type", None)
    if not isinstance(type_name, str):
        state = "missing" if type_name is None else "must be a string"
        problems.add(
            (*where, "type"), f"{state}; installed types: {', '.join(registry.type_names())}"
        )
        return None
    if type_name in registry.BUILTIN_OPTIONS:  # validated without importing the adapter
        model: type[BaseModel] = registry.options_type(type_name)
        parse: Any = model.model_validate
    else:
        cls = _backend_type(where, type_name, problems)
        if cls is None:
            return None
        model, parse = cls.Options, cls.parse_options
    try:
        parsed = parse(options)
    except ValidationError as exc:
        problems.add_validation(exc, model, where)
        return None
    except ConfigError as exc:  # a plugin's own parse_options may check more
        for problem in exc.problems:
            problems.add(where, problem)
        return None
    return BackendInstance(name=name, type=type_name, options=parsed)


def _backend_type(where: KeyPath, type_name: str, problems: Problems) -> type[Backend] | None:
    try:
        return registry.backend_type(type_name)
    except ConfigError as exc:  # unknown or broken type: the message lists installed types
        for problem in exc.problems:
            problems.add((*where, "type"), problem)
        return None


def _check_references(tree: dict[str, Any], names: list[str], problems: Problems) -> None:
    """Checks pydantic can't do per field: default_backend exists, the naming template works."""
    default = tree.get("default_backend", DEFAULT_BACKEND)
    if isinstance(default, str) and default not in names:
        problems.add(
            ("default_backend",), f"unknown backend {default!r}; configured: {', '.join(names)}"
        )
    output = tree.get("output")
    naming = output.get("naming") if isinstance(output, dict) else None
    if isinstance(naming, str):
        from .store.files import validate_template  # the store imports more than config needs

        for problem in validate_template(naming):
            problems.add(("output", "naming"), problem)
