"""Rebuilds read metadata on every core; rows are the same as from one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagen_tui.backends.store import index_bulk
from imagen_tui.backends.store.index import Index
from imagen_tui.backends.store.index_rows import walk_images
from tests.unit.test_index import sidecar, write_image

COUNT = index_bulk.PARALLEL_MIN_FILES + 50


@pytest.fixture
def many(tmp_path: Path) -> Path:
    out = tmp_path / "images"
    for n in range(COUNT):
        meta = sidecar(f"猫 number {n}" if n % 3 == 0 else f"fox number {n}", n)
        write_image(out, f"d{n // 100}/{n:04d}.png", meta)
    (out / "d0" / "0001.json").write_text("{not json", encoding="utf-8")  # one bad sidecar
    return out


def test_workers_read_the_same_rows_as_one_process(many: Path) -> None:
    items = sorted(walk_images(str(many)))
    seen: list[tuple[int, int]] = []
    alone = index_bulk.read_rows(items, workers=1)
    spread = index_bulk.read_rows(items, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert spread == alone
    assert len(alone[0]) == COUNT and alone[1] == 1
    assert seen[-1] == (COUNT, COUNT)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # only forward
    assert json.loads(spread[0][5][-1])["prompt"] == "fox number 5"


def test_without_worker_processes_one_process_reads_all(
    many: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")  # e.g. no sem_open in a sandbox

    monkeypatch.setattr(index_bulk, "ProcessPoolExecutor", no_processes)
    rows, skipped = index_bulk.read_rows(sorted(walk_images(str(many))), workers=4)
    assert (len(rows), skipped) == (COUNT, 1)


def test_reindex_on_all_cores_then_search(many: Path, tmp_path: Path) -> None:
    with Index.open(tmp_path / "index.sqlite3", many) as index:
        calls: list[tuple[int, int]] = []
        assert index.reindex(workers=2, progress=lambda d, t: calls.append((d, t))) == COUNT
        assert index.last_reindex.skipped == 1
        assert calls[-1] == (COUNT, COUNT)
        assert index.count("猫") == len(range(0, COUNT, 3))
        foxes = COUNT - len(range(0, COUNT, 3)) - 1  # number 1 lost its sidecar: no prompt
        assert index.count("fox number") == foxes


def test_usable_cores_is_at_least_one() -> None:
    assert index_bulk.usable_cores() >= 1


def test_a_threaded_process_reads_through_a_fork_server(
    many: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workbench has threads: its workers must not be forks of it."""
    monkeypatch.setattr(index_bulk, "_threads", lambda: 3)
    assert index_bulk._context().get_start_method() == "forkserver"
    items = sorted(walk_images(str(many)))
    assert index_bulk.read_rows(items, workers=2) == index_bulk.read_rows(items, workers=1)
