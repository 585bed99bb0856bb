"""The library: every folder whose images the history shows, kept durably in the state dir.

The image index is a cache that can be rebuilt at any time; a rebuild must find every image
the user ever made, including those written with `--output /elsewhere` and folders of other
tools added with `imagen-tui library add`. So the list of roots lives here, in
`<state dir>/library.json` (written atomically), not in the index. The output dir is always a
root. Roots added by the user are *foreign*: indexed in place and never written into.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError
from ..text import not_utf8
from . import files

_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Root:
    """A folder of images. `foreign` roots belong to other tools: read-only for us."""

    path: Path
    foreign: bool


class Library:
    """The roots file at `path`; `output_dir` is always included as our own root."""

    def __init__(self, path: Path, output_dir: Path, configured: list[Path] | None = None) -> None:
        self.path = Path(path)
        self.output_dir = _real(output_dir)
        self.configured = [Root(_real(p), True) for p in configured or ()]

    def roots(self) -> list[Root]:
        """The output dir first, then every recorded root, then `[library] roots` from the
        config (foreign), each once, in the order added."""
        found = [Root(self.output_dir, False)]
        seen = {self.output_dir}
        for root in [*self._read(), *self.configured]:
            if root.path not in seen:
                seen.add(root.path)
                found.append(root)
        return found

    def add(self, directory: Path, *, foreign: bool) -> Root:
        """Record `directory` (made absolute); StoreError if it is not a folder or its name is
        not UTF-8."""
        real = _real(directory)
        if not real.is_dir():
            raise StoreError(f"{directory} is not a folder", directory)
        undecodable = not_utf8(str(real))
        if undecodable:  # the library file and the index are UTF-8
            raise StoreError(f"{str(real)!r}: {undecodable}; rename the folder", directory)
        with self._locked():
            roots = self._read()
            for root in roots:
                if root.path == real:
                    return root
            added = Root(real, foreign)  # the output dir too: `--output` changes it
            self._write([*roots, added])
        return added

    def remove(self, directory: Path) -> bool:
        """Forget `directory` (its files stay where they are); False if it was not a root."""
        real = _real(directory)
        if real == self.output_dir:
            raise StoreError(f"{directory} is the output dir; it is always in the library", real)
        with self._locked():
            roots = self._read()
            kept = [r for r in roots if r.path != real]
            if len(kept) == len(roots):
                return False
            self._write(kept)
        return True

    def owner(self, image: Path) -> Root | None:
        """The root `image` lies in (the deepest one), or None."""
        real = _real(image)
        inside = [r for r in self.roots() if real.is_relative_to(r.path)]
        return max(inside, key=lambda r: len(r.path.parts), default=None)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One read-modify-write at a time, across threads and processes (flock)."""
        with _LOCK:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115
            except OSError as exc:
                raise StoreError(f"cannot lock {self.path}: {exc.strerror}", self.path) from None
            with fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _read(self) -> list[Root]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            items = data.get("roots", []) if isinstance(data, dict) else []
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # unreadable: the output dir alone still works; `library add` rewrites it
        roots = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                roots.append(Root(Path(item["path"]), bool(item.get("foreign", False))))
        return roots

    def _write(self, roots: list[Root]) -> None:
        data = {"roots": [{"path": str(r.path), "foreign": r.foreign} for r in roots]}
        try:
            files.write_json_atomic(self.path, data)
        except OSError as exc:
            raise StoreError(
                f"cannot save the library list {self.path}: {exc.strerror}", self.path
            ) from None


def _real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(path)))
