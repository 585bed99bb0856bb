"""An in-memory stand-in for `imagen_tui.backends.Engine`, with the same public surface.

It lets Pilot tests put jobs in any state (including waiting-to-retry, which the real engine only
reaches after a 429) and fill a history from real PNG files without a store. Every method follows
the engine API the workbench is written against; nothing here imports Textual.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PIL import Image

from imagen_tui.backends import EventKind, GenerationRequest, ImagenTuiError, JobState
from imagen_tui.backends.store import sidecar_check


@dataclass
class FakeJob:
    """The attributes of `Job` the workbench reads."""

    id: str
    request: GenerationRequest
    user_prompt: str
    backend: str
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    message: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = field(default_factory=time.time)
    error_code: str | None = None
    error_message: str | None = None
    output_path: str | None = None
    seed: int | None = None
    cost_usd: float | None = None
    pid: int | None = None
    waiting_until: float | None = None

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


@dataclass
class FakeEvent:
    kind: EventKind
    job: FakeJob
    preview: bytes | None = None


@dataclass
class FakeRow:
    """The attributes of `ImageRow` the workbench reads."""

    id: int
    path: str  # a str, as in ImageRow
    prompt: str
    created_at: float
    negative: str = ""
    backend: str = "mock"
    model: str | None = None
    seed: int | None = 1
    steps: int | None = None
    width: int = 64
    height: int = 64
    cost_usd: float | None = None
    favourite: bool = False
    trashed: bool = False
    sidecar: Path | None = None


class FakeHistory:
    """Rows newest first (highest id first); keyset cursor = the last id of a page."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rows: list[FakeRow] = []
        self.version = 0
        self.changed: list[tuple[int, FakeRow]] = []
        self.calls: list[str] = []

    def add(
        self, prompt: str, *, colour: tuple[int, int, int] = (200, 80, 40), **kw: Any
    ) -> FakeRow:
        """Write a real PNG + sidecar and index it."""
        row_id = max((r.id for r in self.rows), default=0) + 1
        path = self.folder / f"{row_id:05d}-img.png"
        if not path.exists():
            Image.new("RGB", (64, 48), colour).save(path)
            meta = {"prompt": prompt, "backend": "mock", "seed": row_id}
            path.with_suffix(".json").write_text(json.dumps(meta))
        kw.setdefault("seed", row_id)
        row = FakeRow(row_id, str(path), prompt, created_at=1_700_000_000 + row_id * 60, **kw)
        self.rows.append(row)
        self._touch(row)
        return row

    def _touch(self, row: FakeRow) -> None:
        self.version += 1
        self.changed.append((self.version, row))

    def _select(self, query: str | None, favourites: bool, trashed: bool) -> list[FakeRow]:
        rows = [r for r in self.rows if r.trashed == trashed]
        if favourites:
            rows = [r for r in rows if r.favourite]
        if query:
            rows = [r for r in rows if query.lower() in r.prompt.lower()]
        return sorted(rows, key=lambda r: r.id, reverse=True)

    def page(self, query=None, *, favourites=False, trashed=False, after=None, limit=100):  # noqa: ANN001, ANN201
        self.calls.append(f"page:{after}")
        rows = self._select(query, favourites, trashed)
        if after is not None:
            rows = [r for r in rows if r.id < after]
        rows = rows[:limit]
        nxt = rows[-1].id if len(rows) == limit else None
        return SimpleNamespace(rows=rows, next=nxt)

    def count(self, query=None, favourites=False, trashed=False) -> int:  # noqa: ANN001
        return len(self._select(query, favourites, trashed))

    def index_new(self, images: list[Path]) -> int:
        """Files seen appearing: the fake's rows are made by the tests, so nothing to add."""
        return 0

    def change_cursor(self) -> int:
        self.cursor_asked = getattr(self, "cursor_asked", 0) + 1
        return self.version

    def changed_since(self, cursor: Any) -> tuple[list[FakeRow], int]:
        cursor = cursor or 0
        return [r for v, r in self.changed if v > cursor], self.version

    def _find(self, path: Path) -> FakeRow:
        for row in self.rows:
            if row.path == str(path):
                return row
        raise ImagenTuiError(f"not in the history: {path}")

    def metadata(self, path: Path) -> dict[str, Any]:
        """As the store: the sidecar's usable fields and `sidecar_problem` (None when fine)."""
        data, problem = sidecar_check.load(Path(path).with_suffix(".json"))
        return {**(data or {}), "path": str(path), "sidecar_problem": problem}

    def request_for(self, path: Path, *, require_prompt: bool = True) -> GenerationRequest:
        row = self._find(path)
        if require_prompt and not row.prompt.strip():
            raise ImagenTuiError(f"{path}: this image has no prompt to re-run")
        return GenerationRequest(
            prompt=row.prompt, seed=row.seed, steps=row.steps, width=512, height=512
        )

    def set_favourite(self, path: Path, value: bool) -> None:
        row = self._find(path)
        row.favourite = value
        self._touch(row)

    def trash(self, path: Path) -> Path:
        row = self._find(path)
        row.trashed = True
        self._touch(row)
        return Path(row.path)

    def restore(self, path: Path) -> Path:
        row = self._find(path)
        row.trashed = False
        self._touch(row)
        return Path(row.path)

    def forget_if_gone(self, image: Path) -> bool:
        if Path(image).exists():
            return False
        row = next((r for r in self.rows if r.path == str(image)), None)
        if row is None:  # forgotten already, like HistoryStore.forget_if_gone
            return True
        self.rows.remove(row)
        self.version += 1
        return True

    def thumbnail(self, path: Path, max_w: int, max_h: int) -> Path:
        with Image.open(path) as im:  # raises on a corrupt file, as the real one does
            im.load()
        return Path(path)

    def roots(self) -> list[Path]:
        return [self.folder]


BACKENDS = [
    SimpleNamespace(
        name="mock",
        type="mock",
        description="local drawings",
        capabilities=frozenset({"txt2img", "negative", "seed", "steps", "references"}),
        sizes=(),
        options=[],
        readiness=None,
    ),
    SimpleNamespace(
        name="cloud",
        type="openai",
        description="a paid API",
        capabilities=frozenset({"txt2img"}),
        sizes=("1024x1024", "1536x1024"),
        options=[],
        readiness="no API key: set OPENAI_API_KEY",
    ),
]


class FakeEngine:
    """The engine surface the workbench uses, with helpers to drive job states."""

    def __init__(
        self, folder: Path, *, keys: dict[str, str] | None = None, theme: str | None = None
    ) -> None:
        self.config = SimpleNamespace(
            default_backend="mock",
            styles={"photo": SimpleNamespace(prompt="a photo of {prompt}")},
            preview=SimpleNamespace(mode="off", renderer="halfcell"),
            keys=keys or {},
            theme=theme,
            notify=SimpleNamespace(bell=False),
        )
        self.history = FakeHistory(folder)
        self.subscribers: list[Callable[[Any], None]] = []
        self.local: dict[str, FakeJob] = {}
        self.foreign: dict[str, FakeJob] = {}
        self.submitted: list[GenerationRequest] = []
        self.cancelled: list[str] = []
        self.started = False
        self.closed = False
        self._next = 0

    async def start(self) -> None:
        self.started = True

    async def aclose(self) -> None:
        self.closed = True

    def backends(self) -> list[Any]:
        return list(BACKENDS)

    def prepare(self, request: GenerationRequest) -> Any:
        problems = []
        if request.backend == "cloud":
            problems.append(SimpleNamespace(field="backend", message="no API key"))
        cost = 0.0 if request.backend == "mock" else 0.04 * request.count
        return SimpleNamespace(
            requests=[request], cost_usd=cost, problems=problems, ok=not problems
        )

    def _job(self, request: GenerationRequest, **kw: Any) -> FakeJob:
        self._next += 1
        return FakeJob(
            id=f"job{self._next:03d}",
            request=request,
            user_prompt=request.prompt,
            backend=request.backend,
            seed=request.seed if request.seed is not None else 1000 + self._next,
            pid=kw.pop("pid", 4242),
            created_at=time.time() + self._next * 0.001,
            **kw,
        )

    def submit(self, request: GenerationRequest) -> list[FakeJob]:
        if self.prepare(request).problems:
            raise ImagenTuiError("backend: no API key")
        self.submitted.append(request)
        jobs = [self._job(request) for _ in range(request.count)]
        for job in jobs:
            self.local[job.id] = job
            self.publish(EventKind.QUEUED, job)
        return jobs

    def add_foreign(self, prompt: str, **kw: Any) -> FakeJob:
        """A job another process started (seen only through `jobs_changed_since`)."""
        job = self._job(GenerationRequest(prompt=prompt), pid=99999, **kw)
        self.foreign[job.id] = job
        return job

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def publish(self, kind: EventKind, job: FakeJob, preview: bytes | None = None) -> None:
        job.updated_at = time.time()
        for callback in list(self.subscribers):
            callback(FakeEvent(kind, replace(job), preview))

    def set_state(self, job_id: str, kind: EventKind, **fields: Any) -> FakeJob:
        """Move a local job and publish the event, as the runner would."""
        job = self.local[job_id]
        for name, value in fields.items():
            setattr(job, name, value)
        self.publish(kind, job)
        return job

    def jobs(self) -> list[FakeJob]:
        return list(self.local.values())

    def jobs_changed_since(self, cursor: float) -> tuple[list[FakeJob], float]:
        now = time.time()
        changed = [replace(j) for j in self.foreign.values() if j.updated_at > cursor]
        return changed, now

    async def cancel(self, job_id: str) -> bool:
        self.cancelled.append(job_id)
        job = self.local.get(job_id) or self.foreign.get(job_id)
        if job is None or job.state.finished:
            return False
        job.state = JobState.CANCELLED
        job.error_code = "cancelled"
        if job_id in self.local:
            self.publish(EventKind.CANCELLED, job)
        else:
            job.updated_at = time.time()
        return True

    async def retry(self, job_id: str) -> FakeJob:
        old = self.local.get(job_id) or self.foreign.get(job_id)
        if old is None:
            raise ImagenTuiError(f"no job {job_id}")
        job = self._job(old.request)
        job.seed = old.seed
        self.local[job.id] = job
        self.publish(EventKind.QUEUED, job)
        return job
