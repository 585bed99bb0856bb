"""SQLite schema, connections, and recovery from corruption for the image index (a cache)."""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

SCHEMA_VERSION = 3
"""2: the job log moved to its own file (store/joblog.py); `seq` orders changes.
3: search covers model names, and a trigram index finds text inside unspaced CJK (store/query.py).
"""
BUSY_TIMEOUT_MS = 30_000
"""How long a write waits for another process's write lock before "database is locked"."""

IMAGE_COLUMNS = (
    "path", "prompt", "negative", "backend", "model", "seed", "steps", "width", "height",
    "created_at", "cost_usd", "favourite", "trashed", "sidecar", "metadata",
)  # fmt: skip
FTS_COLUMNS = ("prompt", "negative", "model")

# One statement per item: executescript() would commit the surrounding transaction.
IMAGES_DDL = (
    """CREATE TABLE IF NOT EXISTS images (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        prompt TEXT NOT NULL DEFAULT '',
        negative TEXT NOT NULL DEFAULT '',
        backend TEXT NOT NULL DEFAULT '',
        model TEXT,
        seed INTEGER,
        steps INTEGER,
        width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL DEFAULT 0,
        cost_usd REAL,
        favourite INTEGER NOT NULL DEFAULT 0,
        trashed INTEGER NOT NULL DEFAULT 0,
        sidecar TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        seq INTEGER NOT NULL DEFAULT 0
    )""",
    # History order, covering what search filters on: a scan for a 1–2 character term (`猫`)
    # or a seed reads this compact index, not rows that carry whole workflows (10,000 rows:
    # 45 → 12 ms). No ANALYZE: with statistics SQLite drives big FTS matches through a sort.
    """CREATE INDEX IF NOT EXISTS images_by_time
        ON images (trashed, created_at, id, prompt, negative, model, backend, seed)""",
    "CREATE INDEX IF NOT EXISTS images_by_seq ON images (seq)",
)
# Two full-text indexes over the same columns (see store/query_sql.py for which serves what):
# whole words in scripts with spaces, and substrings of 3+ characters in any script.
FTS_TOKENIZERS = {
    "images_fts": "unicode61 remove_diacritics 2",
    "images_tri": "trigram case_sensitive 0",  # SQLite 3.34+: https://sqlite.org/fts5.html
}
TRIGRAM_TABLE = "images_tri"


def fts_ddl(table: str) -> str:
    """CREATE statement of one external-content FTS5 table over `images`."""
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5({', '.join(FTS_COLUMNS)}, "
        f"content='images', content_rowid='id', tokenize='{FTS_TOKENIZERS[table]}')"
    )


def fts_triggers(tables: tuple[str, ...]) -> tuple[str, ...]:
    """The triggers that keep the FTS `tables` in step with `images`, one per event."""
    cols = ", ".join(FTS_COLUMNS)
    new = ", ".join(f"new.{c}" for c in FTS_COLUMNS)
    old = ", ".join(f"old.{c}" for c in FTS_COLUMNS)
    add = "".join(f"INSERT INTO {t} (rowid, {cols}) VALUES (new.id, {new});\n" for t in tables)
    drop = "".join(
        f"INSERT INTO {t} ({t}, rowid, {cols}) VALUES ('delete', old.id, {old});\n" for t in tables
    )
    return (
        f"CREATE TRIGGER IF NOT EXISTS images_ai AFTER INSERT ON images BEGIN\n{add}END",
        f"CREATE TRIGGER IF NOT EXISTS images_ad AFTER DELETE ON images BEGIN\n{drop}END",
        f"CREATE TRIGGER IF NOT EXISTS images_au AFTER UPDATE OF {cols} ON images BEGIN\n"
        f"{drop}{add}END",
    )


def fts_tables(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The FTS tables this database has: images_fts, and images_tri where SQLite has trigram."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return tuple(t for t in FTS_TOKENIZERS if t in names)


TRIGGER_NAMES = ("images_ai", "images_ad", "images_au")
_RECOVERABLE_CODES = frozenset({10, 11, 26})  # SQLITE_IOERR, _CORRUPT, _NOTADB

P = ParamSpec("P")
R = TypeVar("R")


class Recoverable(Protocol):
    _lock: threading.RLock

    def _recover(self) -> None: ...


S = TypeVar("S", bound=Recoverable)


class IndexCorrupt(sqlite3.DatabaseError):
    """The database opened but is unusable: wrong schema version or a failed quick_check."""


def connect(db_path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN IMMEDIATE ourselves), WAL, 30 s busy wait."""
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _enable_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _enable_wal(conn: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Switch to WAL, retrying: the switch needs an exclusive lock and SQLite does not call the
    busy handler for it, so processes opening a brand-new database at once would fail."""
    deadline = time.monotonic() + wait_s
    delay = 0.002
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
        from random import random  # only when another process holds the database

        time.sleep(delay * (0.5 + random()))
        delay = min(delay * 2, 0.1)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "locked" in str(exc) or "busy" in str(exc)


def read_version(conn: sqlite3.Connection) -> int | None:
    """The stored schema version; None for a database without our schema (new or empty)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    if row is None:
        return None
    try:
        return int(row[0])
    except (TypeError, ValueError):
        return -1


def create_schema(conn: sqlite3.Connection) -> None:
    """Create every table (inside the caller's transaction) and record the schema version."""
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for statement in IMAGES_DDL:
        conn.execute(statement)
    tables = ["images_fts"]
    conn.execute(fts_ddl("images_fts"))
    try:
        conn.execute(fts_ddl(TRIGRAM_TABLE))
        tables.append(TRIGRAM_TABLE)
    except sqlite3.OperationalError as exc:  # SQLite before 3.34: literals are scanned instead
        if "tokenizer" not in str(exc):
            raise
    for statement in fts_triggers(tuple(tables)):
        conn.execute(statement)
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        (("schema_version", str(SCHEMA_VERSION)), ("trigram", str(int(len(tables) > 1)))),
    )


REQUIRED_TABLES = frozenset({"meta", "images", "images_fts"})


def check_tables(conn: sqlite3.Connection) -> None:
    """Raise IndexCorrupt when a table of ours is missing (dropped by hand, or a half-made
    file): the index is then rebuilt from the files instead of failing every query."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    required = set(REQUIRED_TABLES)
    row = conn.execute("SELECT value FROM meta WHERE key = 'trigram'").fetchone()
    if row is None or row[0] != "0":
        required.add(TRIGRAM_TABLE)
    missing = required - names
    if missing:
        raise IndexCorrupt(f"missing tables: {', '.join(sorted(missing))}")


def quick_check(conn: sqlite3.Connection) -> None:
    """Raise IndexCorrupt unless `PRAGMA quick_check` is clean (slow: only when recovering)."""
    rows = conn.execute("PRAGMA quick_check").fetchall()
    if rows != [("ok",)]:
        raise IndexCorrupt(f"quick_check failed: {rows[:3]}")


def needs_recovery(exc: BaseException) -> bool:
    """True for errors a reconnect or rebuild fixes: corruption, and disk I/O errors (what a
    connection sees when another process moved the database aside under it)."""
    if isinstance(exc, IndexCorrupt):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _RECOVERABLE_CODES:
        return True
    message = str(exc).lower()
    damaged = ("malformed", "not a database", "disk i/o error", "no such table", "no such column")
    return any(text in message for text in damaged)


def move_aside(db_path: Path) -> Path:
    """Rename a broken database to `<name>.corrupt-<timestamp>`, dropping its -wal/-shm."""
    # Those first: once the database is renamed, a new one may already own these names.
    for suffix in ("-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            os.unlink(db_path.with_name(db_path.name + suffix))
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    target = db_path.with_name(f"{db_path.name}.corrupt-{stamp}")
    with suppress(FileNotFoundError):
        os.replace(db_path, target)
    return target


@contextmanager
def recovery_lock(db_path: Path) -> Iterator[None]:
    """Serialise recovery across processes, so one never moves aside another's fresh rebuild."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): recovery races are merely wasteful there
        yield
        return
    with open(db_path.with_name(db_path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def guarded(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Serialise calls from threads; on `needs_recovery` errors, `_recover()` and retry once."""

    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.DatabaseError as exc:
                if not needs_recovery(exc):
                    raise
                self._recover()
            return method(self, *args, **kwargs)

    # Not `@functools.wraps`: typeshed's `_Wrapped` loses the `Concatenate` signature for mypy.
    functools.update_wrapper(wrapper, method)
    return wrapper
