"""Where config values come from, and their problems as one line each.

Reading the file and layering environment variables and flags onto it records the origin of
each key, so a problem reads `<where>: <key.path>: <message>`. `<where>` is `<file>:<line>` for
values from the file (the line found by a best-effort scan of the raw text, since tomllib
reports none for keys), `environment IMAGEN_X` or `command line`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .schema import UNKNOWN_KEY_ERRORS, error_location, hints, public_fields, section_type
from .text import visible

if TYPE_CHECKING:
    from pydantic import ValidationError

KeyPath = tuple[str, ...]

ENV_PREFIX = "IMAGEN_"
# IMAGEN_TUI_* are switches of the program itself (like IMAGEN_TUI_CONFIG), never config keys.
RESERVED_ENV_PREFIX = "IMAGEN_TUI_"
COMMAND_LINE = "command line"

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_KEY_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_HEADER = re.compile(r"^\s*\[\[?(.+?)\]\]?\s*(?:#.*)?$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def dotted(path: Iterable[str]) -> str:
    """A key path as TOML would write it: `styles."my style".prompt` (a control character in
    a key shown as its stand-in, ␛, never live)."""
    return ".".join(p if _BARE_KEY.fullmatch(p) else f'"{visible(p)}"' for p in path)


def did_you_mean(key: str, allowed: Sequence[str]) -> str:
    """The message for an unknown key, suggesting the closest allowed one."""
    from difflib import get_close_matches

    close = get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key; allowed: {', '.join(sorted(allowed))}" if allowed else "unknown key"


def toml_syntax_problem(file: Path, message: str) -> str:
    """`file:line: invalid TOML: ...` from a tomllib message ending in `(at line N, column M)`."""
    match = _TOML_POSITION.search(message)
    if not match:
        return f"{file}: invalid TOML: {message}"
    text = message[: match.start()]
    return f"{file}:{match[1]}: invalid TOML: {text} (column {match[2]})"


def _split_key(text: str) -> KeyPath | None:
    """`a."b.c".d` -> ("a", "b.c", "d"); None when it is not a TOML key."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(text, pos)
        if not match or match.end() == pos:
            return None
        raw = match[1] if match[1] is not None else match[2] if match[2] is not None else match[3]
        parts.append(raw)
        pos = match.end()
        if pos == len(text):
            return tuple(parts)
        if text[pos] != ".":
            return None
        pos += 1


def _key_before_equals(line: str) -> KeyPath | None:
    """The key of a `key = value` line (quotes may hide `=`), or None."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return _split_key(line[:i])
        elif ch == "#":
            return None
    return None


def _line_paths(text: str) -> Iterable[tuple[int, KeyPath]]:
    """Each header or key line with the full key path it defines (skipping multi-line strings)."""
    table: KeyPath = ()
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            in_multiline = (line.count('"""') + line.count("'''")) % 2 == 0
            continue
        header = _HEADER.match(line)
        header_key = _split_key(header[1]) if header else None
        if header_key is not None:
            table = header_key
            yield number, table
            continue
        key = _key_before_equals(line)
        if key is not None:
            yield number, table + key
            in_multiline = (line.count('"""') + line.count("'''")) % 2 == 1


def locate(text: str, path: KeyPath) -> int | None:
    """Best-effort line of `path` in TOML text: the line defining it, else its nearest table."""
    best: tuple[int, int] | None = None  # (depth, line)
    for number, found in _line_paths(text):
        if found == path[: len(found)] and (best is None or len(found) > best[0]):
            best = (len(found), number)
    return best[1] if best else None


def allowed_keys(model: type, loc: Sequence[str | int]) -> list[str]:
    """The keys a table at `loc` (relative to the section dataclass `model`) may hold; [] when
    unknown."""
    current, parts = model, list(loc)
    while parts:
        annotation: object = hints(current).get(str(parts.pop(0)))
        section = section_type(annotation)
        if section is None:
            return []
        if section is not annotation:  # dict[str, Section]: skip the key
            if not parts:
                return []
            parts.pop(0)
        current = section
    return public_fields(current)


class Problems:
    """Collects problems with their key paths and formats them with where each value came from."""

    def __init__(self, file: Path | None = None, text: str = "") -> None:
        self.file = file
        self.text = text
        self.origins: dict[KeyPath, str] = {}  # key path -> label of the env var or flag
        self._items: list[tuple[KeyPath, str]] = []

    def add(self, path: KeyPath, message: str) -> None:
        self._items.append((path, message))

    def add_line(self, line: str) -> None:
        """A problem already formatted with its own location."""
        self._items.append(((), line))

    def add_validation(self, exc: ValidationError, model: type, prefix: KeyPath = ()) -> None:
        """Every error of a pydantic validation, unknown keys with a did-you-mean."""
        for err in exc.errors(include_url=False):
            loc, message = error_location(err)
            if err["type"] in UNKNOWN_KEY_ERRORS:
                self.add(prefix + loc, did_you_mean(loc[-1], allowed_keys(model, loc[:-1])))
            else:
                self.add(prefix + loc, message)

    def set_origin(self, path: KeyPath, label: str) -> None:
        """Record that `path` (and all below it) now comes from `label`."""
        for known in [p for p in self.origins if p[: len(path)] == path]:
            del self.origins[known]
        self.origins[path] = label

    def where(self, path: KeyPath) -> tuple[str | None, int | None]:
        """The label of the env var or flag that set `path`, else the file and line."""
        for depth in range(len(path), 0, -1):
            if path[:depth] in self.origins:
                return self.origins[path[:depth]], None
        if self.file is None:
            return None, None
        line = locate(self.text, path) if self.text else None
        return (f"{self.file}:{line}" if line else str(self.file)), line

    def lines(self) -> list[str]:
        """Every problem as one line: the file's in line order, then the rest as found."""
        keyed = []
        for index, (path, message) in enumerate(self._items):
            if not path:  # formatted by add_line
                keyed.append(((1, index), message))
                continue
            where, line = self.where(path)
            body = f"{dotted(path)}: {message}"
            order = (0, line) if line else (1, index)
            keyed.append((order, f"{where}: {body}" if where else body))
        return [text for _, text in sorted(keyed, key=lambda item: item[0])]

    def __bool__(self) -> bool:
        return bool(self._items)


def not_found(path: Path) -> str:
    """The problem for an explicitly named config file that does not exist."""
    from shlex import quote

    target = quote(str(path))
    return f"config file {path} not found: create it with `imagen-tui config init > {target}`"


MAX_CONFIG_BYTES = 1024 * 1024


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed file and its text; ConfigError when missing, unreadable or not TOML."""
    if not path.exists():
        raise ConfigError(not_found(path))
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file; give the path of a .toml file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config file")
    import tomllib  # only when there is a file

    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_syntax_problem(path, str(exc))) from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def _put(tree: dict[str, Any], path: KeyPath, value: Any) -> None:
    """Set a nested value; a later layer replaces whatever was in the way."""
    node = tree
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def _env_keys(env: Mapping[str, str], names: list[str]) -> Iterator[tuple[str, KeyPath | None]]:
    """Each IMAGEN_* variable with its key path (None when it cannot be one)."""
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var.startswith(RESERVED_ENV_PREFIX):
            continue
        path = tuple(part.lower() for part in var[len(ENV_PREFIX) :].split("__"))
        if not all(path):
            yield var, None
        elif path[0] == "backends" and len(path) > 1:
            yield var, (path[0], _instance_name(path[1], names), *path[2:])
        else:
            yield var, path


def _instance_name(part: str, names: list[str]) -> str:
    """Env names can't hold `-` or lower case: IMAGEN_BACKENDS__MY_SD__... means `my-sd`."""
    if part in names:
        return part
    matches = [n for n in names if n.lower().replace("-", "_") == part]
    return matches[0] if matches else part


def apply_env(
    tree: dict[str, Any],
    env: Mapping[str, str],
    problems: Problems,
    known: Callable[[KeyPath], bool],
    candidates: Callable[[], Sequence[str]] = tuple,
) -> list[str]:
    """Layer the IMAGEN_* variables that name a known key (`__` between levels) onto the raw
    tree, noting their origin. Others are left alone: IMAGEN_OPENAI_API_KEY is a natural name
    for the variable an `api_key_env` points at. Returns one warning per variable that is a
    near miss of a real key (`candidates()`: every known variable name, asked for only when a
    variable is no key: listing them loads every backend type's options). Values are never
    shown."""
    backends = tree.get("backends")
    names = list(backends) if isinstance(backends, dict) else []
    warnings = []
    known_names: Sequence[str] | None = None
    for var, path in _env_keys(env, names):
        if path is not None and known(path):
            _put(tree, path, env[var])
            problems.set_origin(path, f"environment {var}")
            continue
        from difflib import get_close_matches

        known_names = candidates() if known_names is None else known_names
        close = get_close_matches(var, known_names, n=1, cutoff=0.85)
        if close:
            note = f"environment {var} is not a config key (ignored); did you mean {close[0]}?"
            warnings.append(note)
    return warnings


def apply_overrides(tree: dict[str, Any], overrides: Mapping[str, Any], problems: Problems) -> None:
    """Layer dotted-key flag values (None = flag not given) onto the raw tree."""
    for key, value in overrides.items():
        if value is None:
            continue
        path = tuple(key.split("."))
        _put(tree, path, value)
        problems.set_origin(path, COMMAND_LINE)
