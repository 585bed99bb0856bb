"""The job log: every job of every process, durable, in its own SQLite file in the state dir.

Unlike the image index (a cache rebuilt from files), this cannot be rebuilt: it holds unfinished,
possibly paid jobs that must be resumed after a crash. So it is never moved aside; its schema only
grows by forward migrations. Every write takes a sequence number (`seq`, strictly increasing across
processes because writers serialise on `BEGIN IMMEDIATE`), which is the cursor of
`changed_since`: a clock-based cursor would miss a row committed late with an earlier timestamp.

All methods block (SQLite); the engine calls them from a worker thread, never on the event loop.
"""

from __future__ import annotations

import builtins  # `JobLog.list` shadows the builtin inside the class
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..models import GenerationRequest, Job, JobState

SCHEMA_VERSION = 2
UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value)

# Forward migrations: version reached → statements. Version 1 was the `jobs` table that lived in
# the image index before the log had a file of its own (never migrated: that file is a cache).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        """CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            state TEXT NOT NULL,
            backend TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            pid INTEGER,
            remote_id TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS jobs_by_seq ON jobs (seq)",
        "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_at)",
        "CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (created_at)",
    ),
}
_COLUMNS = "id, seq, state, backend, created_at, updated_at, pid, remote_id, cancel_requested, data"


def job_to_json(job: Job) -> str:
    """The whole job as JSON (request included); the inverse of `job_from_json`."""
    data = {name: getattr(job, name) for name in job.__slots__ if name != "request"}
    data["state"] = str(job.state)
    data["request"] = job.request.to_dict()
    return json.dumps(data, default=str)


def job_from_json(text: str) -> Job:
    """Raises ValueError/TypeError/KeyError when the stored text is not a job we can read."""
    data = json.loads(text)
    request = GenerationRequest.from_dict(data.pop("request"))
    known = set(Job.__slots__)
    fields = {k: v for k, v in data.items() if k in known}
    fields["state"] = JobState(fields.get("state", "failed"))
    return Job(request=request, **fields)


def _unreadable(row: tuple[Any, ...], reason: str) -> Job:
    """A stored job that no longer parses is shown as failed, never dropped."""
    job_id, _seq, state, backend, created, updated, pid, remote_id, cancel, _data = row
    return Job(
        request=GenerationRequest(prompt="(unreadable job)", backend=backend or ""),
        id=job_id,
        state=JobState.FAILED,
        created_at=created,
        updated_at=updated,
        pid=pid,
        remote_id=remote_id,
        cancel_requested=bool(cancel),
        error_code="internal",
        error_message=f"this job's log entry (state {state}) cannot be read: {reason}",
    )


def _row_job(row: tuple[Any, ...]) -> Job:
    try:
        job = job_from_json(row[-1])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return _unreadable(row, f"{type(exc).__name__}: {exc}")
    job.cancel_requested = bool(row[8])
    job.updated_at = row[5]
    return job


class JobLog:
    """The job log in `path` (created with its parent folder on first open)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    def open(self) -> JobLog:
        """Connect and migrate; StoreError when the file cannot be opened or created."""
        with self._lock:
            if self._conn is None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._conn = _connect(self.path)
                    self._migrate()
                except (OSError, sqlite3.Error) as exc:
                    self.close()
                    raise StoreError(_why(exc, self.path), self.path) from None
        return self

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- writing ----------------------------------------------------------------------------

    def record(self, jobs: Sequence[Job]) -> None:
        """Upsert every job in one transaction; each gets a new `seq` and `updated_at`.

        A cancel request already in the log is kept (the owner may not have seen it yet).
        """
        if not jobs:
            return
        with self._tx() as conn:
            seq = _next_seq(conn)
            now = time.time()
            for offset, job in enumerate(jobs):
                job.updated_at = max(job.updated_at, now)
                conn.execute(
                    f"INSERT INTO jobs ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, state = excluded.state, "
                    "backend = excluded.backend, updated_at = excluded.updated_at, "
                    "pid = excluded.pid, remote_id = excluded.remote_id, "
                    "cancel_requested = max(cancel_requested, excluded.cancel_requested), "
                    "data = excluded.data",
                    (job.id, seq + offset, str(job.state), job.request.backend, job.created_at,
                     job.updated_at, job.pid, job.remote_id, int(job.cancel_requested),
                     job_to_json(job)),
                )  # fmt: skip

    def request_cancel(self, job_id: str) -> bool:
        """Ask the owning process to cancel `job_id`; False when it is unknown or finished."""
        with self._tx() as conn:
            changed = conn.execute(
                "UPDATE jobs SET cancel_requested = 1, seq = ?, updated_at = ? "
                f"WHERE id = ? AND state IN ({_marks(UNFINISHED)})",
                (_next_seq(conn), time.time(), job_id, *UNFINISHED),
            ).rowcount
        return bool(changed)

    # -- reading ----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        row = self._read(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _row_job(row[0]) if row else None

    def list(self, *, states: Iterable[str] | None = None, limit: int = 200) -> list[Job]:
        """Jobs newest first, optionally only those in `states`; `limit` < 0 means all."""
        where, params = "", []
        if states is not None:
            states = [str(s) for s in states]
            where, params = f"WHERE state IN ({_marks(states)})", states
        sql = f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC, seq DESC LIMIT ?"
        return [_row_job(row) for row in self._read(sql, (*params, limit))]

    def unfinished(self) -> builtins.list[Job]:
        """Queued or running jobs of every process, oldest first (resume order)."""
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE state IN ({_marks(UNFINISHED)}) ORDER BY seq"
        return [_row_job(row) for row in self._read(sql, UNFINISHED)]

    def changed_since(
        self, cursor: int | float = 0, limit: int = 1000
    ) -> tuple[builtins.list[Job], int]:
        """Jobs written after `cursor` (0 = from the start), oldest change first, and the cursor
        to pass next time. At most `limit` jobs; call again with the new cursor for more."""
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE seq > ? ORDER BY seq LIMIT ?"
        rows = self._read(sql, (int(cursor), limit))
        next_cursor = rows[-1][1] if rows else int(cursor)
        return [_row_job(row) for row in rows], next_cursor

    def spent_since(self, since: float, backend: str | None = None) -> float:
        """USD spent (and committed: queued and running jobs count their estimate) by jobs
        created at or after `since` (epoch seconds), optionally of one backend instance."""
        sql = (
            "SELECT total(json_extract(data, '$.cost_usd')) FROM jobs "
            "WHERE created_at >= ? AND state != 'failed' AND state != 'cancelled'"
        )
        params: list[Any] = [since]
        if backend is not None:
            sql += " AND backend = ?"
            params.append(backend)
        return float(self._read(sql, params)[0][0] or 0.0)

    def cancel_requests(self, job_ids: Iterable[str]) -> set[str]:
        """Which of `job_ids` another process asked to cancel."""
        ids = list(job_ids)
        if not ids:
            return set()
        sql = f"SELECT id FROM jobs WHERE cancel_requested = 1 AND id IN ({_marks(ids)})"
        return {row[0] for row in self._read(sql, ids)}

    # -- plumbing ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.open()
        assert self._conn is not None
        return self._conn

    def _read(self, sql: str, params: Sequence[Any]) -> builtins.list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(_why(exc, self.path), self.path) from None

    @contextmanager
    def _tx(self) -> Any:
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(_why(exc, self.path), self.path) from None
            try:
                yield conn
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise StoreError(_why(exc, self.path), self.path) from None
            except BaseException:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise StoreError(_why(exc, self.path), self.path) from None

    def _migrate(self) -> None:
        with self._tx() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row and str(row[0]).isdigit() else 1
            for target in sorted(_MIGRATIONS):
                if target > version:
                    for statement in _MIGRATIONS[target]:
                        conn.execute(statement)
                    version = target
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(max(version, SCHEMA_VERSION)),),
            )


def _connect(path: Path) -> sqlite3.Connection:
    from .index_schema import connect  # same pragmas: WAL, busy timeout, autocommit

    return connect(path)


def _next_seq(conn: sqlite3.Connection) -> int:
    seq: int = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM jobs").fetchone()[0]
    return seq


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _why(exc: BaseException, path: Path) -> str:
    """One line naming the file and what to do."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return f"the job log {path} is locked by another process; try again in a moment"
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        return f"the job log {path} is read-only; check the permissions of {path.parent}"
    if "disk is full" in text or "no space" in text:
        return f"no space left for the job log {path}; free some disk space"
    if "not a database" in text or "malformed" in text:
        return f"the job log {path} is damaged; move it away to start a new one"
    return f"the job log {path} cannot be used: {exc}"
