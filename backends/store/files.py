"""Naming, slugs and atomic, never-overwriting writes: the files are the truth.

An image is written to a hidden temp file in its final directory, fsynced, then hard-linked to
its final name (a link fails rather than replaces, so two writers never clobber each other).
"""

from __future__ import annotations

import json
import os
import re
import string
import unicodedata
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

TEMPLATE_FIELDS: tuple[str, ...] = ("date", "time", "slug", "seed", "backend", "n", "ext")
DEFAULT_NAMING = "{date}/{time}-{slug}-{seed}.{ext}"

MAX_COMPONENT_BYTES = 120
MAX_COLLISIONS = 10_000

# Letters NFKD leaves alone but that have an obvious ASCII spelling.
_TRANSLIT = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
     "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i"}
)  # fmt: skip
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def _slug_core(text: str, max_len: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(slug) <= max_len:
        return slug
    head = slug[:max_len]
    if slug[max_len] != "-":
        cut = head.rfind("-")
        # Cut at a word boundary unless that would throw away more than half.
        if cut >= max_len // 2:
            head = head[:cut]
    return head.rstrip("-")


def slugify(text: str, max_len: int = 40) -> str:
    """Lower-case ASCII `[a-z0-9-]` slug of `text`, at most `max_len` chars, never empty."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, not {max_len}")
    return _slug_core(text, max_len) or "image"[:max_len]


@dataclass(frozen=True)
class NameFields:
    """The values a naming template may use."""

    when: datetime
    slug: str
    seed: int | None
    backend: str
    n: int
    ext: str


def validate_template(template: str) -> list[str]:
    """Problems with a naming template, as short strings; an empty list means it is usable."""
    if not template.strip():
        return ["naming template is empty"]
    problems: list[str] = []
    if template.startswith(("/", "~")):
        problems.append(f"naming template must be a relative path, not {template!r}")
    if ".." in template.split("/"):
        problems.append("naming template must not contain a '..' path component")
    if template.endswith("/"):
        problems.append("naming template must end with a file name, not '/'")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [*problems, f"bad naming template syntax: {exc}"]
    for _, field, spec, conversion in parsed:
        if field is not None:
            problems.extend(_field_problems(field, spec or "", conversion))
    return problems


def _field_problems(field: str, spec: str, conversion: str | None) -> list[str]:
    if field not in TEMPLATE_FIELDS:
        known = ", ".join(f"{{{name}}}" for name in TEMPLATE_FIELDS)
        return [f"unknown placeholder {{{field}}}; known: {known}"]
    if conversion:
        return [f"conversion !{conversion} is not supported in {{{field}}}"]
    if not spec:
        return []
    if field != "n":  # only {n} is always an int, so only it takes a format spec
        return [f"format spec ':{spec}' is only supported for {{n}}, not {{{field}}}"]
    try:
        format(0, spec)
    except ValueError as exc:
        return [f"bad format spec ':{spec}' for {{n}}: {exc}"]
    return []


def _clean_ext(ext: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ext.lower())[:10] or "png"


def _field_value(field: str, spec: str, fields: NameFields) -> str:
    if field == "date":
        return fields.when.strftime("%Y-%m-%d")
    if field == "time":
        return fields.when.strftime("%H%M%S")
    if field == "slug":
        return slugify(fields.slug, MAX_COMPONENT_BYTES)
    if field == "seed":
        return "noseed" if fields.seed is None else str(int(fields.seed))
    if field == "backend":
        return _slug_core(fields.backend, 40) or "backend"
    if field == "n":
        # A fill character in the spec could be anything, '/' included.
        return re.sub(r"[/\\\x00]", "-", format(int(fields.n), spec))
    return _clean_ext(fields.ext)


def _cap_bytes(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 10:
        stem, dot, ext = name, "", ""
    room = limit - len((dot + ext).encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip("-. ")
    return f"{stem}{dot}{ext}" if stem else (dot + ext).lstrip(".")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean_component(part: str) -> str:
    # Drop control chars and lone surrogates (unencodable in a file name).
    part = _CONTROL.sub("", part).encode("utf-8", "ignore").decode("utf-8")
    part = part.replace("\\", "-").strip()
    # No hidden files, nothing that reads as a command-line option.
    return _cap_bytes(part.lstrip(".- "), MAX_COMPONENT_BYTES)


def render_name(template: str, fields: NameFields) -> PurePosixPath:
    """Render `template` into a clean relative path; ValueError only for an invalid template."""
    problems = validate_template(template)
    if problems:
        raise ValueError("; ".join(problems))
    pieces: list[str] = []
    used: set[str] = set()
    for literal, field, spec, _ in string.Formatter().parse(template):
        pieces.append(literal)
        if field is not None:
            pieces.append(_field_value(field, spec or "", fields))
            used.add(field)
    rendered = "".join(pieces)
    if "ext" not in used:
        rendered += "." + _clean_ext(fields.ext)
    parts = [_clean_component(p) for p in rendered.split("/")]
    parts = [p for p in parts if p not in ("", ".", "..")]
    if not parts:
        parts = [f"{slugify(fields.slug)}.{_clean_ext(fields.ext)}"]
    return PurePosixPath(*parts)


def safe_join(root: Path, rel: PurePosixPath) -> Path:
    """`root / rel`, resolved (symlinks included); ValueError unless it stays inside root."""
    if rel.is_absolute():
        raise ValueError(f"{rel} is an absolute path, expected one relative to {root}")
    base = Path(root).resolve()
    target = (base / rel).resolve()
    if target == base or not target.is_relative_to(base):
        raise ValueError(f"{rel} would leave the output dir {base}")
    return target


def sidecar_path(image: Path) -> Path:
    """The JSON sidecar that sits beside `image`."""
    return image.with_suffix(".json")


def numbered_names(path: Path, limit: int = MAX_COLLISIONS) -> Iterator[Path]:
    """`path`, then `stem-1.ext`, `stem-2.ext`, … (`limit` names after the first)."""
    yield path
    for i in range(1, limit + 1):
        yield path.with_name(f"{path.stem}-{i}{path.suffix}")


TEMP_SUFFIX = ".part"


def _open_temp(directory: Path) -> tuple[int, Path]:
    # Not mkstemp: that makes 0600 files, and the image must get the usual umask mode.
    # The writer's pid is in the name, so a later process can tell a dead writer's leftovers
    # (kill -9 mid-write) from a live writer's file: see `remove_stale_temps`.
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    remove_stale_temps(directory)
    for _ in range(100):
        tmp = directory / f".{os.getpid()}-{os.urandom(8).hex()}{TEMP_SUFFIX}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temp file in {directory}")


def remove_stale_temps(directory: Path) -> int:
    """Delete `.PID-xxxx.part` files in `directory` whose writing process is gone; returns how
    many. Temp files of live processes, and names we did not make, are left alone."""
    removed = 0
    try:
        names = [n for n in os.listdir(directory) if n.startswith(".") and n.endswith(TEMP_SUFFIX)]
    except OSError:
        return 0
    for name in names:
        pid_text = name[1:].split("-", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            with suppress(OSError):
                os.unlink(directory / name)
                removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _write_temp(directory: Path, data: bytes) -> Path:
    """A fsynced hidden temp file holding `data`; removed again if writing fails."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp


def _fsync_dir(directory: Path) -> None:
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _reserve_and_replace(tmp: Path, candidate: Path) -> bool:
    """Fallback without hard links: claim the name with O_EXCL, then move the temp over it."""
    try:
        os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except FileExistsError:
        return False
    try:
        os.replace(tmp, candidate)
    except BaseException:
        with suppress(OSError):
            candidate.unlink()
        raise
    return True


def _publish(tmp: Path, path: Path) -> Path:
    use_link = True
    for candidate in numbered_names(path):
        if use_link:
            try:
                os.link(tmp, candidate)
                return candidate
            except FileExistsError:
                continue
            except OSError:  # EPERM, EXDEV, ENOTSUP…: this filesystem has no hard links
                use_link = False
        if _reserve_and_replace(tmp, candidate):
            return candidate
    raise FileExistsError(f"{path} and {MAX_COLLISIONS} numbered variants all exist")


def write_new_file(path: Path, data: bytes) -> Path:
    """Write `data` atomically at `path`, or at `stem-N.ext` if taken; return the path used."""
    path = Path(path)
    tmp = _write_temp(path.parent, data)
    try:
        final = _publish(tmp, path)
        _fsync_dir(path.parent)
        return final
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` at `path` atomically, replacing any file already there."""
    path = Path(path)
    tmp = _write_temp(path.parent, data)
    try:
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write `obj` as indented UTF-8 JSON at `path` atomically (replacing: sidecars change)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def check_writable(directory: Path) -> str | None:
    """None if files can be created in `directory` (made if missing), else a one-line reason."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = _open_temp(directory)
        os.close(fd)
        tmp.unlink()
    except FileExistsError:
        return f"output dir {directory} is not a directory"
    except OSError as exc:
        return f"output dir {directory} is not writable: {exc.strerror or exc}"
    return None
