"""The SQLite index: a cache over the image files and sidecars.

The files are the truth: `reindex()` rebuilds the images tables from them at any time, and a
corrupt or outdated database is moved aside and rebuilt instead of failing. Every write is a
short `BEGIN IMMEDIATE` transaction, so many processes can write at once (WAL + busy_timeout).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imagen_tui.backends.store import index_schema as schema
from imagen_tui.backends.store.index_rows import (
    ImageRow,
    image_row,
    load_metadata,
    path_key,
    row_values,
    walk_images,
)

if TYPE_CHECKING:
    from imagen_tui.backends.store.index_bulk import Progress, ReindexResult

__all__ = ["ImageRow", "Index", "PageCursor", "open_index"]

PageCursor = tuple[float, int]
"""Where a page ended: (created_at, id) of its last row. Keyset paging, so a page stays right
while images are added above it."""
_NEXT_SEQ = "(SELECT coalesce(max(seq), 0) + 1 FROM images)"

_LISTED = "id, path, prompt, negative, backend, model, seed, steps, width, height, created_at, "
_LISTED += "cost_usd, favourite, trashed, sidecar"
_INSERT = (
    f"INSERT INTO images ({', '.join(schema.IMAGE_COLUMNS)}, seq) "
    f"VALUES ({', '.join('?' * len(schema.IMAGE_COLUMNS))}, {_NEXT_SEQ})"
)
_UPSERT = (
    _INSERT
    + " ON CONFLICT (path) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in schema.IMAGE_COLUMNS[1:])
    + ", seq = excluded.seq"
)
# Reindex keeps a row (and its id) when nothing changed; favourites set only in the index stay.
_REINDEX_UPSERT = (
    _INSERT
    + " ON CONFLICT (path) DO UPDATE SET "
    + ", ".join(
        f"{column} = excluded.{column}"
        for column in schema.IMAGE_COLUMNS[1:]
        if column != "favourite"
    )
    + ", favourite = max(favourite, excluded.favourite), seq = CASE WHEN "
    + " OR ".join(f"{c} IS NOT excluded.{c}" for c in ("prompt", "trashed", "sidecar", "metadata"))
    + " THEN excluded.seq ELSE seq END"
)


class Index:
    """The image index and job log in one SQLite file. Use `Index.open()` or `open_index()`."""

    def __init__(
        self, db_path: Path, output_dir: Path, roots: Callable[[], Iterable[Path]] | None = None
    ) -> None:
        self.db_path = Path(db_path)
        self.output_dir = Path(os.path.realpath(output_dir))
        self._extra_roots = roots
        self.last_reindex: ReindexResult | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._fts_tables: tuple[str, ...] = ()

    @classmethod
    def open(
        cls, db_path: Path, output_dir: Path, roots: Callable[[], Iterable[Path]] | None = None
    ) -> Index:
        """Open (creating, or rebuilding from the files if missing, corrupt or outdated).

        `roots` lists more folders than `output_dir` to index (the library); it is called on
        every rebuild, so a folder added later is scanned by the next one."""
        index = cls(db_path, output_dir, roots)
        index.db_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            index._attach()
        except sqlite3.DatabaseError as exc:
            if not schema.needs_recovery(exc):
                raise
            index._recover()
        return index

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connection lifecycle -------------------------------------------------------------

    def _attach(self, *, check: bool = False) -> None:
        """Connect and make sure the schema is ours; a new database is filled from the files."""
        self._conn = schema.connect(self.db_path)
        try:
            if check:
                schema.quick_check(self._conn)
            version = schema.read_version(self._conn)
            if version is None:
                self._create()
            elif version != schema.SCHEMA_VERSION:
                raise schema.IndexCorrupt(f"schema version {version}, not {schema.SCHEMA_VERSION}")
            else:
                schema.check_tables(self._conn)
            self._fts_tables = schema.fts_tables(self._conn)
        except BaseException:
            self.close()
            raise

    def _create(self) -> None:
        with self._tx() as conn:
            # Another process may have created it while we waited for the write lock.
            if schema.read_version(conn) is None:
                schema.create_schema(conn)
                self._fill_from_files(conn)

    def _recover(self) -> None:
        """Move a broken database aside and rebuild it, unless another process just did."""
        self.close()
        with schema.recovery_lock(self.db_path):
            try:
                self._attach(check=True)
                return
            except sqlite3.DatabaseError as exc:
                if not schema.needs_recovery(exc):
                    raise
            schema.move_aside(self.db_path)
            self._attach()

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the index is closed")
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front (no deadlocking upgrades)."""
        conn = self._db
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- images ---------------------------------------------------------------------------

    @schema.guarded
    def add_image(self, path: Path, meta: dict[str, Any], *, trashed: bool = False) -> int:
        """Insert or update the row for `path` from its sidecar dict; returns the row id."""
        key = path_key(path)
        json_path = os.path.splitext(key)[0] + ".json"
        sidecar = json_path if os.path.exists(json_path) else None
        values = row_values(key, meta, json.dumps(meta, default=str), sidecar, trashed)
        with self._tx() as conn:
            conn.execute(_UPSERT, values)
            row_id: int = conn.execute("SELECT id FROM images WHERE path = ?", (key,)).fetchone()[0]
            return row_id

    @schema.guarded
    def remove_image(self, path: Path) -> None:
        """Forget `path` (after it was deleted for good)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM images WHERE path = ?", (path_key(path),))

    @schema.guarded
    def remove_images_now(self, paths: list[Path]) -> bool:
        """Forget `paths` in one transaction if the write lock is free at once; False, with
        nothing forgotten, while another process holds it (a listing must never wait 30 s on
        a writer to tidy up). Raises sqlite3.Error for other failures (a read-only index)."""
        conn = self._db
        conn.execute("PRAGMA busy_timeout=0")
        try:
            with self._tx() as tx:
                tx.executemany("DELETE FROM images WHERE path = ?", [(path_key(p),) for p in paths])
        except sqlite3.OperationalError as exc:
            if not schema._is_busy(exc):
                raise
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout={schema.BUSY_TIMEOUT_MS}")
        return True

    @schema.guarded
    def move_image(self, old: Path, new: Path, *, trashed: bool) -> None:
        """Record that `old` now lives at `new` (trash/restore); indexes `new` if `old` wasn't."""
        new_key = path_key(new)
        json_path = os.path.splitext(new_key)[0] + ".json"
        sidecar = json_path if os.path.exists(json_path) else None
        with self._tx() as conn:
            conn.execute("DELETE FROM images WHERE path = ?", (new_key,))
            moved = conn.execute(
                f"UPDATE images SET path = ?, trashed = ?, sidecar = ?, seq = {_NEXT_SEQ} "
                "WHERE path = ?",
                (new_key, int(trashed), sidecar, path_key(old)),
            ).rowcount
            if not moved:
                meta, meta_json, sidecar, _ = load_metadata(new_key, sidecar)
                conn.execute(_INSERT, row_values(new_key, meta, meta_json, sidecar, trashed))

    @schema.guarded
    def set_favourite(self, path: Path, value: bool) -> None:
        """Set the favourite flag (also inside the stored metadata, so `get()` agrees)."""
        with self._tx() as conn:
            conn.execute(
                f"UPDATE images SET favourite = ?, seq = {_NEXT_SEQ}, "
                "metadata = json_set(metadata, '$.favourite', json(?)) WHERE path = ?",
                (int(value), "true" if value else "false", path_key(path)),
            )

    def _where(
        self, query: str | None, favourites: bool, trashed: bool
    ) -> tuple[str, list[object]]:
        clauses: list[str] = ["trashed = ?"]
        params: list[object] = [int(trashed)]
        if favourites:
            clauses.append("favourite = 1")
        if not query:  # a plain listing imports no search code
            return " AND ".join(clauses), params
        from imagen_tui.backends.store.query import parse_query
        from imagen_tui.backends.store.query_sql import where_clauses

        parsed = parse_query(query)
        if parsed is not None:
            trigram = schema.TRIGRAM_TABLE in self._fts_tables
            more, more_params = where_clauses(parsed, trigram=trigram)
            clauses += more
            params += more_params
        return " AND ".join(clauses), params

    @schema.guarded
    def search(
        self,
        query: str | None = None,
        *,
        limit: int = 50,
        after: PageCursor | None = None,
        favourites: bool = False,
        trashed: bool = False,
    ) -> list[ImageRow]:
        """Images newest first; `query` is search text (syntax in store/query.py): words,
        "phrases", CJK or punctuated literals, `model:` `backend:` `seed:` `negative:` fields.

        `after` is the (created_at, id) of the last row of the previous page (keyset paging:
        stable while images are added). `trashed=False` leaves trashed images out,
        `trashed=True` returns only them. Rows come without `metadata`; use `get()` for that.
        Raises StoreError (message with a hint) for a query with nothing to search for.
        """
        where, params = self._where(query, favourites, trashed)
        if after is not None:
            where += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            params += [after[0], after[0], after[1]]
        sql = f"SELECT {_LISTED} FROM images WHERE {where} "
        sql += "ORDER BY created_at DESC, id DESC LIMIT ?"
        rows = self._db.execute(sql, (*params, limit))
        return [image_row(row) for row in rows]

    @schema.guarded
    def neighbour(self, path: Path, *, older: bool, trashed: bool = False) -> ImageRow | None:
        """The image just older (or newer) than `path` in history order; None at the end or
        when `path` is not indexed."""
        row = self._db.execute(
            "SELECT created_at, id FROM images WHERE path = ?", (path_key(path),)
        ).fetchone()
        if row is None:
            return None
        if older:
            where = "(created_at < ? OR (created_at = ? AND id < ?))"
            order = "created_at DESC, id DESC"
        else:
            where = "(created_at > ? OR (created_at = ? AND id > ?))"
            order = "created_at ASC, id ASC"
        sql = f"SELECT {_LISTED} FROM images WHERE trashed = ? AND {where} ORDER BY {order} LIMIT 1"
        found = self._db.execute(sql, (int(trashed), row[0], row[0], row[1])).fetchone()
        return image_row(found) if found else None

    @schema.guarded
    def changed_since(self, cursor: int = 0, limit: int = 500) -> tuple[list[ImageRow], int]:
        """Rows added or changed after `cursor` (0 = all), oldest change first, and the next
        cursor. Removed rows are not reported: callers re-page to drop them."""
        sql = f"SELECT {_LISTED}, seq FROM images WHERE seq > ? ORDER BY seq LIMIT ?"
        rows = self._db.execute(sql, (int(cursor), limit)).fetchall()
        next_cursor = rows[-1][-1] if rows else int(cursor)
        return [image_row(row[:-1]) for row in rows], next_cursor

    @schema.guarded
    def change_cursor(self) -> int:
        """The cursor `changed_since` would return after reading every change so far: what a
        reader that has just listed the images starts from."""
        return int(self._db.execute("SELECT coalesce(max(seq), 0) FROM images").fetchone()[0])

    @schema.guarded
    def count(
        self, query: str | None = None, *, favourites: bool = False, trashed: bool = False
    ) -> int:
        """How many images `search()` would find with the same filters and no limit; raises
        StoreError like `search()`."""
        where, params = self._where(query, favourites, trashed)
        sql = f"SELECT count(*) FROM images WHERE {where}"
        found: int = self._db.execute(sql, params).fetchone()[0]
        return found

    @schema.guarded
    def get(self, path: Path) -> ImageRow | None:
        """The row for `path`, with `metadata` filled in; None if not indexed."""
        sql = f"SELECT {_LISTED}, metadata FROM images WHERE path = ?"
        row = self._db.execute(sql, (path_key(path),)).fetchone()
        if row is None:
            return None
        try:
            metadata = json.loads(row[-1])
        except ValueError:
            metadata = {}
        return image_row(row[:-1], metadata if isinstance(metadata, dict) else {})

    @schema.guarded
    def reindex(self, *, workers: int | None = None, progress: Progress | None = None) -> int:
        """Rebuild the images tables from the files; returns how many images were indexed.

        Metadata is read by `workers` processes (None = every usable core, 1 = this one only);
        `progress(files_read, files_total)` is called as reading advances. Details (sidecars
        skipped as unreadable) are in `self.last_reindex`. The job log is kept.
        """
        with self._tx() as conn:
            # Scanning inside the write lock: a concurrent add_image is then either seen by the
            # scan (its file exists already) or lands after our commit, never lost in between.
            return self._fill_from_files(conn, workers, progress).indexed

    def _fill_from_files(
        self,
        conn: sqlite3.Connection,
        workers: int | None = None,
        progress: Progress | None = None,
    ) -> ReindexResult:
        files = [item for root in self.roots() for item in walk_images(str(root))]
        from imagen_tui.backends.store.index_bulk import (  # multiprocessing: only now
            ReindexResult,
            read_rows,
        )

        rows, skipped = read_rows(files, workers=workers, progress=progress)
        # Bulk path: per-row FTS triggers would double the cost; rebuild the FTS index once.
        # Upsert by path, so the ids of images still on disk survive a reindex.
        for name in schema.TRIGGER_NAMES:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS seen (path TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.seen")
        conn.executemany("INSERT OR IGNORE INTO temp.seen VALUES (?)", ((r[0],) for r in rows))
        conn.execute("DELETE FROM images WHERE path NOT IN (SELECT path FROM temp.seen)")
        conn.executemany(_REINDEX_UPSERT, rows)
        conn.execute("DELETE FROM temp.seen")
        tables = schema.fts_tables(conn)
        for table in tables:
            conn.execute(f"INSERT INTO {table} ({table}) VALUES ('rebuild')")
        for statement in schema.fts_triggers(tables):
            conn.execute(statement)
        self.last_reindex = ReindexResult(len(rows), skipped)
        return self.last_reindex

    def roots(self) -> list[Path]:
        """Every folder a rebuild scans: the output dir, then the library's other roots."""
        found = [self.output_dir]
        for root in self._extra_roots() if self._extra_roots else ():
            real = Path(os.path.realpath(root))
            if real not in found and not any(real.is_relative_to(f) for f in found):
                found.append(real)
        return found

    @schema.guarded
    def usage(self) -> list[dict[str, Any]]:
        """Per day (local time), backend and model: images indexed (trashed included) and their
        total `cost_usd` (USD), newest day first."""
        sql = (
            "SELECT date(created_at, 'unixepoch', 'localtime') AS day, backend, "
            "coalesce(model, '') AS model, count(*), total(cost_usd) FROM images "
            "GROUP BY day, backend, model ORDER BY day DESC, backend, model"
        )
        return [
            {"day": day, "backend": b, "model": m or None, "images": n, "cost_usd": cost}
            for day, b, m, n, cost in self._db.execute(sql)
        ]


def open_index(
    output_dir: Path,
    db_path: Path | None = None,
    roots: Callable[[], Iterable[Path]] | None = None,
) -> Index:
    """Open the index for `output_dir` (and `roots`), by default at the XDG state path."""
    from imagen_tui.backends.paths import index_path

    return Index.open(db_path or index_path(), output_dir, roots)
