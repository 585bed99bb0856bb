"""Trash is a move into `<output_dir>/.trash/`, keeping the relative path, so it can be undone.

An image travels with its JSON sidecar; both keep the same stem when a name is taken.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from .files import numbered_names, sidecar_path

TRASH_DIRNAME = ".trash"


def _absolute(path: Path) -> Path:
    """Absolute path with the parent resolved but not the file itself (it may be a symlink)."""
    path = Path(path)
    return path.parent.resolve() / path.name


def _trash_root(output_dir: Path) -> Path:
    return Path(output_dir).resolve() / TRASH_DIRNAME


def is_trashed(output_dir: Path, path: Path) -> bool:
    """True if `path` lies inside the trash of `output_dir`."""
    root = _trash_root(output_dir)
    target = _absolute(path)
    return target != root and target.is_relative_to(root)


def _companions(image: Path) -> list[Path]:
    sidecar = sidecar_path(image)
    return [image] if sidecar == image else [image, sidecar]


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _move_noreplace(src: Path, dst: Path) -> None:
    """Rename `src` to `dst`, raising FileExistsError rather than replacing `dst`."""
    try:
        # A hard link fails if dst exists, which a plain rename would silently replace.
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:  # no hard links here: check, then rename (a small race remains)
        if _exists(dst):
            raise FileExistsError(f"{dst} already exists") from None
        os.rename(src, dst)
        return
    os.unlink(src)


def _move_pair(image: Path, dest: Path) -> Path:
    """Move image (+ sidecar) to `dest` or the first free `stem-N` variant; return the image."""
    if not _exists(image):
        raise FileNotFoundError(f"no such image: {image}")
    if image.is_dir() and not image.is_symlink():
        raise IsADirectoryError(f"{image} is a directory, not an image")
    dest.parent.mkdir(parents=True, exist_ok=True)
    sources = [p for p in _companions(image) if _exists(p)]
    for candidate in numbered_names(dest):
        targets = _companions(candidate)
        if any(_exists(t) for t in targets):
            continue  # a stray sidecar would otherwise get paired with this image
        try:
            return _move_all(sources, targets[: len(sources)])
        except FileExistsError:  # taken between the check and the move
            continue
    raise FileExistsError(f"no free name for {dest}")


def _move_all(sources: list[Path], targets: list[Path]) -> Path:
    """Move each source to its target; on a failure, put back what already moved."""
    done: list[tuple[Path, Path]] = []
    try:
        for src, dst in zip(sources, targets, strict=True):
            _move_noreplace(src, dst)
            done.append((src, dst))
    except BaseException:
        for src, dst in reversed(done):
            with suppress(OSError):
                _move_noreplace(dst, src)
        raise
    return targets[0]


def _inside(output_dir: Path, image: Path) -> Path:
    """`image` relative to `output_dir`; ValueError if it lies elsewhere."""
    root = Path(output_dir).resolve()
    target = _absolute(image)
    if target == root or not target.is_relative_to(root):
        raise ValueError(f"{image} is not a file inside the output dir {root}")
    return target.relative_to(root)


def trash(output_dir: Path, image: Path) -> Path:
    """Move `image` and its sidecar into the trash; return the image's new path."""
    if is_trashed(output_dir, image):
        raise ValueError(f"{image} is already in the trash")
    rel = _inside(output_dir, image)
    return _move_pair(_absolute(image), _trash_root(output_dir) / rel)


def locate(output_dir: Path, image: Path) -> Path:
    """The trashed copy of `image`: `image` itself when it lies in the trash, else the trash
    path `trash()` gave it (same relative path). ValueError if neither holds one."""
    if is_trashed(output_dir, image):
        return Path(image)
    candidate = _trash_root(output_dir) / _inside(output_dir, image)
    if not _exists(candidate):
        raise ValueError(
            f"{image} is not in the trash of {output_dir} (imagen-tui history --trashed lists it)"
        )
    return candidate


def restore(output_dir: Path, trashed_image: Path) -> Path:
    """Move a trashed image and its sidecar back where they came from; return the image path."""
    if not is_trashed(output_dir, trashed_image):
        raise ValueError(f"{trashed_image} is not in the trash of {output_dir}")
    rel = _absolute(trashed_image).relative_to(_trash_root(output_dir))
    return _move_pair(_absolute(trashed_image), Path(output_dir).resolve() / rel)


def purge(output_dir: Path, trashed_image: Path) -> None:
    """Delete a trashed image and its sidecar for good (only files inside the trash)."""
    if not is_trashed(output_dir, trashed_image):
        raise ValueError(f"refusing to purge {trashed_image}: it is not in the trash")
    image = _absolute(trashed_image)
    if not _exists(image):
        raise FileNotFoundError(f"no such image in the trash: {trashed_image}")
    image.unlink()
    with suppress(FileNotFoundError):
        sidecar_path(image).unlink()
