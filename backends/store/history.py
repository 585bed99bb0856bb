"""The history store: image files + sidecars (the truth), the index (the cache) and thumbnails.

Every method blocks (file and SQLite I/O): the engine calls them from a worker thread, and the
workbench from thread workers. Expected failures raise `StoreError` naming the path.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import logs
from ..errors import StoreError
from . import files, sidecar

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import Config, LibraryConfig, OutputConfig
    from ..models import GenerationRequest, ImageResult, Job
    from .index import Index, PageCursor
    from .index_bulk import Progress, ReindexResult
    from .index_rows import ImageRow
    from .library import Library
    from .thumbs import ThumbCache
    from .writing import SavedImage

_T = TypeVar("_T")

PAGE_FILL_MAX = 1000
"""The most rows one query reads while filling a page past images whose files are missing: a
page doubles its query each round (`limit`, 2x, 4x...), so an unmounted drive of 50,000 images
costs `history --limit 1` about 60 queries, not 50,000."""


@dataclass(frozen=True, eq=False, repr=False)
class HistoryPage:
    """One page of history, newest first; pass `next` as `after` for the following page.

    Nothing compares or prints pages (their rows do that): no generated `__eq__`/`__repr__`,
    which a history process would pay ~0.5 ms to create."""

    rows: list[ImageRow]
    next: PageCursor | None


class HistoryStore:
    """Writes images where the naming template says and keeps the index in step."""

    def __init__(
        self,
        output_dir: Path,
        naming: str,
        *,
        sidecar: bool = True,
        index_path: Path | None = None,
        thumbs_dir: Path | None = None,
        library_path: Path | None = None,
        library_roots: list[Path] | None = None,
    ) -> None:
        self.output_dir = output_dir
        self.naming = naming
        self.sidecar = sidecar
        self._index_path = index_path
        self._thumbs_dir = thumbs_dir
        self._library_path = library_path
        self._library_roots = library_roots or []
        self._registered = False

    @classmethod
    def for_config(cls, config: Config) -> HistoryStore:
        """The store of `config` at the XDG paths (no file opened yet)."""
        return cls._at_xdg_paths(config.output, config.library)

    @classmethod
    def _at_xdg_paths(cls, output: OutputConfig, library: LibraryConfig) -> HistoryStore:
        from .. import paths

        return cls(
            output.dir,
            output.naming,
            sidecar=output.sidecar,
            index_path=paths.index_path(),
            thumbs_dir=paths.thumbs_dir(),
            library_path=paths.library_path(),
            library_roots=library.roots,
        )

    @classmethod
    def open(cls, config_path: str | Path | None = None) -> HistoryStore:
        """Load the config and give its store, without the job engine (commands that only
        read or move images do not pay for asyncio, nor for backend options). Raises
        ConfigError; the config's warnings go to the "imagen_tui" logger."""
        from ..config import load_store_config

        output, library, warnings = load_store_config(Path(config_path) if config_path else None)
        for note in warnings:
            logs.logger().warning("%s", note)
        return cls._at_xdg_paths(output, library)

    def check_writable(self) -> str | None:
        """None when the output dir can take files, else one line naming it."""
        return files.check_writable(self.output_dir)

    @cached_property
    def index(self) -> Index:
        from .index import open_index  # sqlite is only needed once something is recorded

        try:
            index = open_index(self.output_dir, self._index_path, self._root_paths)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(_index_problem(exc, self._index_path), self._index_path) from None
        self._index_pending(index)
        return index

    @cached_property
    def library(self) -> Library:
        from .library import Library

        return Library(self._library_file(), self.output_dir, self._library_roots)

    def _library_file(self) -> Path:
        if self._library_path is None:
            from ..paths import library_path

            self._library_path = library_path()
        return self._library_path

    def _root_paths(self) -> list[Path]:
        return [root.path for root in self.library.roots()]

    def _pending_path(self) -> Path:
        """Where images saved while the index could not take them are noted (beside the
        library file; listing does not load the library to find it)."""
        return self._library_file().with_name("unindexed.txt")

    def _index_pending(self, index: Index) -> None:
        """Index images saved while the index could not take them (locked, disk full)."""
        pending = self._pending_path()
        try:
            lines = pending.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in dict.fromkeys(lines):
            image = Path(line)
            if image.is_file():
                with suppress(StoreError, sqlite3.Error, OSError):
                    index.add_image(image, sidecar.metadata(image))
        with suppress(OSError):
            pending.unlink()

    @cached_property
    def thumbs(self) -> ThumbCache:
        from ..paths import thumbs_dir
        from .thumbs import ThumbCache

        return ThumbCache(self._thumbs_dir or thumbs_dir())

    def close(self) -> None:
        """Close the index if it was opened."""
        index = self.__dict__.pop("index", None)
        if index is not None:
            index.close()

    # -- writing ----------------------------------------------------------------------------

    def save(self, job: Job, result: ImageResult, backend_type: str) -> SavedImage:
        """Write one image (and its sidecar) atomically, never overwriting, and index it.

        The image is written last-visible-first: sidecar problems remove the image again, so
        image and sidecar land together or not at all. An index failure keeps the files (the
        truth) and they are indexed on the next open. Raises StoreError naming the path.
        """
        saved = self.write(job, result, backend_type)
        self._register_root()
        try:
            self.index.add_image(saved.path, saved.metadata)
        except (StoreError, sqlite3.Error, OSError):
            # The files are the truth: note the image, the next open of the index adds it.
            with suppress(OSError), open(self._pending_path(), "a", encoding="utf-8") as fh:
                fh.write(f"{saved.path}\n")
        return saved

    def _register_root(self) -> None:
        """Remember every output dir ever written into, so a rebuild finds its images."""
        if not self._registered:
            self._registered = True
            with suppress(StoreError):
                self.library.add(self.output_dir, foreign=False)

    def write(self, job: Job, result: ImageResult, backend_type: str) -> SavedImage:
        """Write the image and its sidecar (no index); StoreError naming the path on failure."""
        from .writing import write_image  # only the write path needs naming and PNG chunks

        return write_image(self.output_dir, self.naming, job, result, backend_type,
                           sidecar=self.sidecar)  # fmt: skip

    def record(self, saved: SavedImage) -> None:
        """Add a written image to the index."""
        self.index.add_image(saved.path, saved.metadata)

    # -- reading ----------------------------------------------------------------------------

    def page(
        self,
        query: str | None = None,
        *,
        favourites: bool = False,
        trashed: bool = False,
        after: PageCursor | None = None,
        limit: int = 100,
    ) -> HistoryPage:
        """Up to `limit` images newest first, after the cursor of the previous page.

        `query` is search text (syntax: store/query.py); StoreError with a hint when it has
        nothing to search for (punctuation only, `model:` without a value). An image whose
        file was deleted outside imagen-tui is left out and forgotten (`forget_if_gone`);
        one whose folder is missing (a drive not mounted) is left out and kept."""
        found: list[ImageRow] = []
        batch = limit
        while True:
            rows = self.index.search(
                query, limit=batch, after=after, favourites=favourites, trashed=trashed
            )
            gone: list[ImageRow] = []
            for row in rows:
                (found if os.path.exists(row.path) else gone).append(row)
            if gone:
                self._forget_missing(gone)
            if len(found) >= limit:
                del found[limit:]
                return HistoryPage(found, (found[-1].created_at, found[-1].id))
            if len(rows) < batch:  # the last page: nothing more to fill it with
                return HistoryPage(found, None)
            after = (rows[-1].created_at, rows[-1].id)
            batch = min(batch * 2, max(limit, PAGE_FILL_MAX))  # many missing: fewer queries

    def _forget_missing(self, rows: list[ImageRow]) -> None:
        """Forget rows whose files are gone from a folder that exists (`forget_if_gone`), if
        the index can be written at once: locked by another process or read-only, they are
        left for the next listing or a reindex."""
        gone = [Path(row.path) for row in rows if Path(row.path).parent.is_dir()]
        if gone:
            with suppress(StoreError, sqlite3.Error):
                self.index.remove_images_now(gone)

    @staticmethod
    def check_query(query: str | None) -> None:
        """Raise StoreError (one line with a hint) when `query` has nothing to search for or a
        bad field value (`seed:x`), without opening the index; search syntax: store/query.py."""
        if query:  # a plain listing imports no search code
            from .query import parse_query

            parse_query(query)

    def count(
        self, query: str | None = None, *, favourites: bool = False, trashed: bool = False
    ) -> int:
        return self.index.count(query, favourites=favourites, trashed=trashed)

    def changed_since(self, cursor: int = 0) -> tuple[list[ImageRow], int]:
        """Rows added or changed since `cursor` (0 = all) and the next cursor."""
        return self.index.changed_since(cursor)

    def forget_if_gone(self, image: Path) -> bool:
        """Drop the row of `image` when its file no longer exists (deleted outside imagen-tui)
        but its folder does; True when the image has left the history, now or already (another
        process's listing may have forgotten it first). Blocking, but never waits for another
        process's write lock: False then, to try again later. StoreError when the index
        cannot be written (read-only)."""
        image = Path(image)
        if image.exists() or not image.parent.is_dir():
            return False  # a missing folder is a drive not mounted, not a deletion
        if self.index.get(image) is None:
            return True
        try:
            return self.index.remove_images_now([image])
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot update the index {self.index.db_path}: {exc}", image
            ) from None

    def change_cursor(self) -> int:
        """The `changed_since` cursor of "now": take it before listing, then ask what changed
        since (blocking; StoreError like `page`)."""
        return self.index.change_cursor()

    def get(self, image: Path) -> ImageRow | None:
        return self.index.get(image)

    def index_new(self, images: list[Path]) -> int:
        """Index those of `images` (files seen appearing in a library folder) that the index
        does not know yet, from their sidecar or embedded metadata; returns how many. Files
        outside the library, gone again, or already indexed are skipped."""
        from .index_rows import IMAGE_EXTS

        added = 0
        for image in images:
            if image.suffix.lower() not in IMAGE_EXTS or not image.is_file():
                continue
            if self.library.owner(image) is None or self.index.get(image) is not None:
                continue
            with suppress(StoreError, sqlite3.Error, OSError):
                self.index.add_image(image, sidecar.metadata(image))
                added += 1
        return added

    def neighbour(self, image: Path, *, older: bool) -> ImageRow | None:
        """The image after (`older`) or before `image` in history order, as of now: images
        made since the caller last looked are included. None at either end."""
        return self.index.neighbour(Path(image), older=older)

    def metadata(self, image: Path) -> dict[str, Any]:
        """Sidecar first, then the embedded chunks; StoreError if the image does not exist."""
        if not Path(image).is_file():
            raise StoreError(f"no such image: {image}", image)
        return sidecar.metadata(Path(image))

    def request_for(self, image: Path, *, require_prompt: bool = True) -> GenerationRequest:
        """The request that makes `image` again (for re-run, vary seed, edit); StoreError when it
        has no prompt, unless `require_prompt` is False (its settings, prompt "")."""
        try:
            return sidecar.request_from(self.metadata(image), require_prompt=require_prompt)
        except ValueError as exc:
            raise StoreError(f"{image}: {exc}", image) from None

    def thumbnail(self, image: Path, max_w: int, max_h: int) -> Path:
        """A cached PNG of `image` within `max_w`×`max_h` pixels; StoreError if unreadable."""
        try:
            return self.thumbs.get(Path(image), max_w, max_h)
        except ValueError as exc:
            raise StoreError(str(exc), image) from None

    def usage(self) -> list[dict[str, Any]]:
        return self.index.usage()

    def reindex(
        self, *, workers: int | None = None, progress: Progress | None = None
    ) -> ReindexResult:
        """Rebuild the index from the files; returns images indexed and sidecars skipped.

        Metadata is read on `workers` processes (None = all usable cores); `progress(read,
        total)` is called as files are read (see `Index.reindex`)."""
        with self._updating_index():
            self.index.reindex(workers=workers, progress=progress)
        from .index_bulk import ReindexResult

        return self.index.last_reindex or ReindexResult(0, 0)

    def roots(self) -> list[Path]:
        """Folders whose images this history shows (to watch for new files)."""
        return self._root_paths()

    # -- changing ---------------------------------------------------------------------------

    def set_favourite(self, image: Path, value: bool) -> None:
        """Favourites live in the sidecar (the truth) and the index (the cache)."""
        meta = sidecar.read(image)
        if meta is not None:
            meta["favourite"] = value
            try:
                files.write_json_atomic(files.sidecar_path(image), meta)
            except OSError as exc:
                raise StoreError(files.write_problem(exc, image), image) from None
        with self._updating_index():
            self.index.set_favourite(image, value)

    def trash(self, image: Path) -> Path:
        """Move `image` (and its sidecar) into its root's `.trash`; StoreError for an image of
        a foreign root (we never write there) or outside the library."""
        from . import trash

        moved = _moving(trash.trash, self._own_root(image), image)
        with self._updating_index():
            self.index.move_image(image, moved, trashed=True)
        return moved

    def restore(self, trashed_image: Path) -> Path:
        """Move a trashed image (and its sidecar) back; return where it is now. Takes its path
        in the trash or the path it had before (`trash X` then `restore X`); StoreError if
        neither is a trashed image of our own roots."""
        from . import trash

        root = self._own_root(trashed_image)
        trashed = _moving(trash.locate, root, trashed_image)
        back = _moving(trash.restore, root, trashed)
        with self._updating_index():
            self.index.move_image(trashed, back, trashed=False)
        return back

    def purge(self, trashed_image: Path) -> None:
        """Delete a trashed image and its sidecar for good."""
        from . import trash

        _moving(trash.purge, self._own_root(trashed_image), trashed_image)
        with self._updating_index():
            self.index.remove_image(trashed_image)

    @contextmanager
    def _updating_index(self) -> Iterator[None]:
        """Turn an index write that fails (read-only, locked past the busy timeout, disk full)
        into a StoreError naming the index; the files already changed are the truth, and the
        next listing or `history --reindex` catches the index up."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(_index_problem(exc, self._index_path), self._index_path) from None

    def _own_root(self, image: Path) -> Path:
        from .index_rows import IMAGE_EXTS

        if Path(image).suffix.lower() not in IMAGE_EXTS:
            exts = ", ".join(sorted(IMAGE_EXTS))
            raise StoreError(f"{image} is not an image ({exts}); its sidecar moves with it", image)
        root = self.library.owner(Path(image))
        if root is None:
            raise StoreError(f"{image} is not in the library (see imagen-tui library list)", image)
        if root.foreign:
            raise StoreError(
                f"{image} belongs to another tool's folder {root.path}; imagen-tui never "
                "moves or deletes files there",
                image,
            )
        return root.path


def _moving(move: Callable[[Path, Path], _T], output_dir: Path, image: Path) -> _T:
    try:
        return move(output_dir, image)
    except (ValueError, FileExistsError, FileNotFoundError, IsADirectoryError) as exc:
        raise StoreError(str(exc), image) from None
    except OSError as exc:
        raise StoreError(files.write_problem(exc, image), image) from None


def _index_problem(exc: BaseException, path: Path | None) -> str:
    where = path or "the index"
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return f"the index {where} is locked by another process; try again in a moment"
    if "readonly" in text or "read-only" in text:
        folder = path.parent if path else "the state dir"
        return f"the index {where} is read-only; check the permissions of {folder}"
    if "disk is full" in text:
        return f"no space left for the index {where}; free some disk space"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot open the index {where}: {exc.strerror}; check the state dir's permissions"
    return f"cannot open the index {where}: {exc}"
