"""The job log: Job ↔ `jobs` table rows. Used by `Index`; every call is one short statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from pydantic import ValidationError

from imagen_tui.backends.models import GenerationRequest, Job, JobState

# Job field → column, in column order ("index" is an SQL keyword, so the column is `idx`).
_FIELDS = (
    ("id", "id"), ("batch", "batch"), ("index", "idx"), ("state", "state"),
    ("progress", "progress"), ("message", "message"), ("created_at", "created_at"),
    ("started_at", "started_at"), ("finished_at", "finished_at"), ("remote_id", "remote_id"),
    ("attempts", "attempts"), ("error_code", "error_code"), ("error_message", "error_message"),
    ("output_path", "output_path"), ("sidecar_path", "sidecar_path"), ("seed", "seed"),
    ("cost_usd", "cost_usd"), ("pid", "pid"),
)  # fmt: skip
_COLUMNS = (*(column for _, column in _FIELDS), "backend", "prompt", "request")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
_UPSERT = (
    f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS[1:])
)
UNFINISHED = frozenset({JobState.QUEUED.value, JobState.RUNNING.value})


def upsert(conn: sqlite3.Connection, job: Job) -> None:
    """Insert or replace the row for `job` (one statement)."""
    values = [getattr(job, field) for field, _ in _FIELDS]
    values[3] = str(job.state)
    values += [job.request.backend, job.request.prompt, job.request.model_dump_json()]
    conn.execute(_UPSERT, values)


def get(conn: sqlite3.Connection, job_id: str) -> Job | None:
    row = conn.execute(f"{_SELECT} WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else _job(row)


def select(
    conn: sqlite3.Connection,
    *,
    states: Iterable[str] | None = None,
    since: float | None = None,
    limit: int = 200,
    oldest_first: bool = False,
) -> list[Job]:
    """Jobs filtered by state and `created_at >= since`, newest first unless `oldest_first`."""
    clauses, params = [], []
    if states is not None:
        states = [str(state) for state in states]
        clauses.append(f"state IN ({', '.join('?' * len(states))})")
        params += states
    if since is not None:
        clauses.append("created_at >= ?")
        params.append(since)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = "ASC" if oldest_first else "DESC"
    sql = f"{_SELECT} {where} ORDER BY created_at {order}, rowid {order} LIMIT ?"
    jobs = (_job(row) for row in conn.execute(sql, (*params, limit)))
    return [job for job in jobs if job is not None]


def _job(row: tuple) -> Job | None:
    """The Job for a row; None if its stored request no longer validates (an older version's)."""
    fields = {field: row[i] for i, (field, _) in enumerate(_FIELDS)}
    try:
        request = GenerationRequest.model_validate_json(row[-1])
        return Job(request=request, **fields)
    except ValidationError:
        return None
