"""Atomic, never-overwriting writes: the files are the truth.

An image is written to a hidden temp file in its final directory, fsynced, then hard-linked to
its final name (a link fails rather than replaces, so two writers never clobber each other).
Where an image goes is decided by `naming`.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import Any

MAX_COLLISIONS = 10_000


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


def write_problem(exc: OSError, path: Path) -> str:
    """One line naming `path` and what to do, for the write errors a user can fix."""
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return f"no space left on the device for {path}: free some space and try again"
    if exc.errno == errno.EROFS:
        return f"{path} is on a read-only file system: choose another [output] dir"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied writing {path}: check the folder's permissions"
    return f"cannot write {path}: {exc.strerror or exc}"
