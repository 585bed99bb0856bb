"""HistoryStore: files are the truth, the index follows; favourites and trash survive a reindex."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from imagen_tui.backends.models import GenerationRequest, ImageResult, Job
from imagen_tui.backends.store import pngmeta
from imagen_tui.backends.store.history import HistoryStore
from imagen_tui.backends.store.sidecar import build as build_metadata


def png(width: int = 80, height: int = 72) -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def saved(tmp_path: Path, prompt: str = "a red fox", **kw) -> tuple[HistoryStore, Path]:
    store = HistoryStore(tmp_path / "out", "{date}/{slug}-{seed}.{ext}",
                         index_path=tmp_path / "index.sqlite3", **kw)  # fmt: skip
    req = GenerationRequest(prompt=prompt, width=80, height=72, seed=3, style="film")
    job = Job(request=req, user_prompt=prompt, started_at=1.0, finished_at=2.5)
    result = ImageResult(data=png(), seed=3, cost_usd=0.02, model="m1", metadata={"x": 1})
    written = store.write(job, result, "mock")
    store.record(written)
    return store, written.path


def test_write_places_image_sidecar_and_png_chunks(tmp_path: Path) -> None:
    store, path = saved(tmp_path)
    assert path.is_relative_to(tmp_path / "out") and path.name == "a-red-fox-3.png"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["prompt"] == "a red fox" and meta["seed"] == 3 and meta["model"] == "m1"
    assert (meta["width"], meta["height"], meta["latency_s"]) == (80, 72, 1.5)
    assert meta["provider"] == {"x": 1} and meta["style"] == "film"
    chunks = pngmeta.read_text_chunks(path)
    assert json.loads(chunks["imagen-tui"]) == meta
    assert "Seed: 3" in chunks["parameters"] and "Size: 80x72" in chunks["parameters"]
    with Image.open(path) as img:
        assert img.size == (80, 72)


def test_prompt_cannot_escape_the_output_dir(tmp_path: Path) -> None:
    _, path = saved(tmp_path, prompt="../../etc/passwd; rm -rf ~ $(boom)")
    assert path.resolve().is_relative_to((tmp_path / "out").resolve())
    assert path.name.startswith("etc-passwd-rm-rf-boom")


def test_favourite_and_trash_survive_a_reindex(tmp_path: Path) -> None:
    store, fav = saved(tmp_path, "keep me")
    _, gone = saved(tmp_path, "throw me")
    store.set_favourite(fav, True)
    moved = store.trash(gone)
    assert not gone.exists() and moved.exists() and moved.with_suffix(".json").exists()
    store.index.reindex()
    assert [r.prompt for r in store.index.search(favourites=True)] == ["keep me"]
    assert [r.prompt for r in store.index.search()] == ["keep me"]
    assert [r.prompt for r in store.index.search(trashed=True)] == ["throw me"]
    back = store.restore(moved)
    assert back == gone and back.exists()
    assert sorted(r.prompt for r in store.index.search()) == ["keep me", "throw me"]


def test_no_sidecar_mode(tmp_path: Path) -> None:
    store, path = saved(tmp_path, sidecar=False)
    assert not path.with_suffix(".json").exists()
    store.close()
    store.index.reindex()
    (row,) = store.index.search("fox")
    assert row.seed == 3  # recovered from the PNG chunk alone


def test_metadata_holds_the_users_prompt_and_the_styled_one() -> None:
    req = GenerationRequest(prompt="film photo of a fox", style="film", seed=1)
    job = Job(request=req, user_prompt="a fox", user_negative="")
    meta = build_metadata(job, ImageResult(data=png()), "mock")
    assert meta["prompt"] == "film photo of a fox"
    assert meta["request"]["prompt"] == "a fox"


def test_images_dropped_into_a_library_folder_are_indexed_once(tmp_path: Path) -> None:
    store, first = saved(tmp_path)
    dropped = first.parent / "dropped-by-hand.png"
    dropped.write_bytes(png(40, 30))
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(png())
    assert store.index.get(dropped) is None
    assert store.index_new([dropped, outside, first, tmp_path / "gone.png"]) == 1
    row = store.index.get(dropped)
    assert row is not None and (row.width, row.height) == (40, 30)
    assert store.index_new([dropped]) == 0


def test_change_cursor_is_where_a_reader_that_just_listed_starts(tmp_path: Path) -> None:
    store, first = saved(tmp_path)
    cursor = store.change_cursor()
    assert cursor > 0 and store.changed_since(cursor) == ([], cursor)
    store.set_favourite(first, True)
    rows, after = store.changed_since(cursor)
    assert [r.path for r in rows] == [str(first)] and after > cursor
    assert store.change_cursor() == after


def test_forget_if_gone_drops_only_rows_whose_file_is_gone(tmp_path: Path) -> None:
    store, image = saved(tmp_path)
    assert store.forget_if_gone(image) is False and store.get(image) is not None
    image.unlink()
    assert store.forget_if_gone(image) is True and store.get(image) is None
    # forgotten before (by another process's listing): still gone, so a view drops its row
    assert store.forget_if_gone(image) is True


def _images(tmp_path: Path, count: int, naming: str = "{slug}-{seed}.{ext}") -> HistoryStore:
    store = HistoryStore(tmp_path / "out", naming, index_path=tmp_path / "index.sqlite3")
    for n in range(count):
        req = GenerationRequest(prompt=f"image {n}", width=80, height=72, seed=n)
        job = Job(request=req, user_prompt=f"image {n}", started_at=10.0 + n, finished_at=11.0 + n)
        job.created_at = 10.0 + n
        store.record(store.write(job, ImageResult(data=png(), seed=n), "mock"))
    return store


def test_a_page_leaves_out_files_deleted_elsewhere_and_fills_up_from_older_ones(
    tmp_path: Path,
) -> None:
    store = _images(tmp_path, 6)
    newest = store.page(limit=6).rows
    for row in newest[1:4]:  # deleted by a file manager, not by imagen-tui
        Path(row.path).unlink()
    first = store.page(limit=2)
    assert [r.prompt for r in first.rows] == ["image 5", "image 1"]
    second = store.page(limit=2, after=first.next)
    assert [r.prompt for r in second.rows] == ["image 0"] and second.next is None
    assert store.count() == 3  # forgotten, so counts and searches agree with the disk
    assert store.page("image 3").rows == []


def test_an_unmounted_folder_hides_its_images_but_keeps_their_rows(tmp_path: Path) -> None:
    store = _images(tmp_path, 2, naming="{date}/{slug}-{seed}.{ext}")
    [folder] = {Path(r.path).parent for r in store.page().rows}
    folder.rename(tmp_path / "elsewhere")  # the drive is gone for now
    assert store.page().rows == [] and store.count() == 2
    (tmp_path / "elsewhere").rename(folder)
    assert len(store.page().rows) == 2


def test_filling_a_page_past_many_missing_files_takes_few_queries(tmp_path: Path) -> None:
    store = _images(tmp_path, 40, naming="{seed}/{slug}.{ext}")  # a folder per image
    rows = store.page(limit=40).rows
    for row in rows[:39]:  # all but the oldest are on a drive that is not mounted
        Path(row.path).parent.rename(tmp_path / f"away-{row.seed}")
    calls = []
    search = store.index.search
    store.index.search = lambda *a, **kw: calls.append(kw["limit"]) or search(*a, **kw)
    page = store.page(limit=1)
    assert [r.prompt for r in page.rows] == ["image 0"] and page.next is not None
    assert len(calls) <= 7  # 1 + 2 + 4 + ... rows a query, not one query per missing image
    assert store.count() == 40  # the rows of the missing folders are kept


def test_a_page_does_not_wait_for_another_writer_to_forget_deleted_files(
    tmp_path: Path,
) -> None:
    import sqlite3

    store = _images(tmp_path, 3)
    Path(store.page(limit=1).rows[0].path).unlink()  # "image 2", deleted by hand
    other = sqlite3.connect(tmp_path / "index.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writes (a reindex, an import)
    try:
        page = store.page()  # used to wait out the 30 s busy timeout, then crash
        assert [r.prompt for r in page.rows] == ["image 1", "image 0"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.count() == 3  # not forgotten while locked: the next listing does it
    assert [r.prompt for r in store.page().rows] == ["image 1", "image 0"]
    assert store.count() == 2


def test_forget_if_gone_does_not_wait_for_another_writer(tmp_path: Path) -> None:
    import sqlite3

    store = _images(tmp_path, 1)
    image = Path(store.page().rows[0].path)
    image.unlink()
    other = sqlite3.connect(tmp_path / "index.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        assert store.forget_if_gone(image) is False  # locked: later, not after 30 s
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.forget_if_gone(image) is True and store.count() == 0


def test_an_image_another_listing_forgot_first_is_gone_for_the_workbench_too(
    tmp_path: Path,
) -> None:
    store = _images(tmp_path, 2)
    newest = Path(store.page().rows[0].path)
    newest.unlink()
    other = HistoryStore(
        tmp_path / "out", "{slug}-{seed}.{ext}", index_path=tmp_path / "index.sqlite3"
    )
    assert len(other.page().rows) == 1  # `imagen-tui history` in another pane forgets it
    assert store.forget_if_gone(newest) is True  # the open workbench must drop its row too


def test_a_read_only_index_is_a_store_error_naming_it_for_every_change(tmp_path: Path) -> None:
    import sqlite3

    import pytest

    from imagen_tui.backends.errors import StoreError

    store, path = saved(tmp_path)
    conn = store.index._conn
    assert conn is not None
    conn.execute("PRAGMA query_only = ON")  # writes fail as on a read-only file: SQLITE_READONLY
    changes = [
        lambda: store.set_favourite(path, True),
        lambda: store.trash(path),
        lambda: store.reindex(workers=1),
    ]
    for change in changes:
        with pytest.raises(StoreError, match="index .*index.sqlite3 is read-only") as caught:
            change()
        assert not isinstance(caught.value, sqlite3.Error)
