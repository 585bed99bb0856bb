"""The job log: its own durable SQLite file, seq cursors, cancel requests, migrations."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagen_tui.backends.errors import StoreError
from imagen_tui.backends.models import GenerationRequest, Job, JobState
from imagen_tui.backends.store.joblog import SCHEMA_VERSION, JobLog

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def log(tmp_path: Path) -> JobLog:
    return JobLog(tmp_path / "state" / "jobs.sqlite3").open()


def make_job(prompt: str, created_at: float, **fields: object) -> Job:
    request = GenerationRequest(
        prompt=prompt, negative="neg", width=640, height=480, seed=7, steps=30, style="photo",
        references=(Path("/tmp/ref.png"),), backend="openai-main", options={"quality": "high"},
    )  # fmt: skip
    return Job(request=request, created_at=created_at, **fields)


def without_updated(job: Job) -> Job:
    return job.copy(updated_at=0.0)


def test_round_trip_keeps_every_field(log: JobLog) -> None:
    job = make_job("a lighthouse", T0, batch="b1", index=2, pid=4242)
    log.record([job])
    assert without_updated(log.get(job.id)) == without_updated(job)
    job.state, job.progress, job.message = JobState.RUNNING, 0.5, "step 15/30"
    job.started_at, job.attempts, job.remote_id = T0 + 1, 1, "remote-9"
    log.record([job])
    job.state, job.finished_at, job.output_path = JobState.FAILED, T0 + 9, "/x/a.png"
    job.error_code, job.error_message, job.seed, job.cost_usd = "timeout", "slow", 7, 0.04
    log.record([job])
    stored = log.get(job.id)
    assert without_updated(stored) == without_updated(job)
    assert stored.request.references == (Path("/tmp/ref.png"),)
    assert stored.request.options == {"quality": "high"}
    assert log.get("nope") is None
    assert len(log.list()) == 1


def test_queries_and_unfinished(log: JobLog) -> None:
    done = make_job("done", T0 + 1, state=JobState.DONE)
    queued = make_job("queued", T0 + 2)
    running = make_job("running", T0 + 3, state=JobState.RUNNING)
    failed = make_job("failed", T0 + 4, state=JobState.FAILED)
    log.record([running, done, failed, queued])
    assert [j.id for j in log.list()] == [failed.id, running.id, queued.id, done.id]
    assert [j.id for j in log.list(limit=2)] == [failed.id, running.id]
    assert [j.id for j in log.list(states={"done", "failed"})] == [failed.id, done.id]
    assert [j.id for j in log.unfinished()] == [running.id, queued.id]


def test_changed_since_reports_each_change_once_in_order(log: JobLog) -> None:
    a, b = make_job("a", T0), make_job("b", T0 + 1)
    log.record([a, b])
    seen, cursor = log.changed_since(0)
    assert [j.id for j in seen] == [a.id, b.id]
    a.state = JobState.RUNNING
    log.record([a])
    later, cursor2 = log.changed_since(cursor)
    assert [(j.id, j.state) for j in later] == [(a.id, JobState.RUNNING)]
    assert cursor2 > cursor and log.changed_since(cursor2) == ([], cursor2)
    assert later[0].updated_at >= seen[0].updated_at


def test_cancel_request_only_for_unfinished_jobs_and_kept_over_later_writes(log: JobLog) -> None:
    live, over = (
        make_job("live", T0, state=JobState.RUNNING),
        make_job("over", T0, state=JobState.DONE),
    )
    log.record([live, over])
    _, cursor = log.changed_since(0)
    assert log.request_cancel(live.id) is True
    assert log.request_cancel(over.id) is False and log.request_cancel("nope") is False
    assert log.cancel_requests([live.id, over.id]) == {live.id}
    changed, _ = log.changed_since(cursor)
    assert [j.id for j in changed] == [live.id] and changed[0].cancel_requested
    live.progress = 0.7  # the owner writes progress before it notices the request
    log.record([live])
    assert log.cancel_requests([live.id]) == {live.id}


def test_a_version_1_file_is_migrated_forward_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute("CREATE TABLE keepme (x)")
    conn.commit()
    conn.close()
    log = JobLog(path).open()
    log.record([make_job("after migration", T0)])
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert version == str(SCHEMA_VERSION) and {"keepme", "jobs"} <= tables


def test_a_job_log_that_cannot_be_opened_is_a_store_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state dir should be")
    with pytest.raises(StoreError) as info:
        JobLog(blocker / "jobs.sqlite3").open()
    assert str(blocker) in info.value.message
