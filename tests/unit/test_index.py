"""The SQLite index: a cache rebuilt from the files, safe for many processes at once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagen_tui.backends import StoreError
from imagen_tui.backends.store import index_schema
from imagen_tui.backends.store.index import Index, open_index
from imagen_tui.backends.store.index_bulk import ReindexResult

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()


def sidecar(prompt: str, n: int = 0, **extra: object) -> dict:
    """A sidecar dict as the engine writes it, created `n` minutes after T0."""
    created = datetime.fromtimestamp(T0 + 60 * n, UTC).isoformat()
    meta = {
        "version": 1, "prompt": prompt, "negative": "", "backend": "mock",
        "backend_type": "mock", "model": "m1", "seed": 1000 + n, "steps": 20, "width": 512,
        "height": 256, "style": None, "created_at": created, "latency_s": 0.5, "cost_usd": 0.01,
        "revised_prompt": None, "favourite": False, "tags": [], "job_id": f"job{n}",
        "request": {}, "provider": {},
    }  # fmt: skip
    meta.update(extra)
    return meta


def write_image(out: Path, rel: str, meta: dict | None) -> Path:
    """A placeholder image file (the index never decodes pixels) plus its sidecar."""
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really an image")
    if meta is not None:
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    return d


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "index.sqlite3"


@pytest.fixture
def index(db: Path, out: Path):
    with Index.open(db, out) as idx:
        yield idx


def prompts(rows) -> list[str]:
    return [row.prompt for row in rows]


def test_open_creates_schema_in_wal_mode(index: Index, db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert {"meta", "images", "images_fts"} <= names
    assert "jobs" not in names  # the job log lives in its own file (store/joblog.py)
    assert {"images_ai", "images_ad", "images_au"} <= names
    assert version == (str(index_schema.SCHEMA_VERSION),)
    assert mode == "wal"


def test_add_search_count_get(index: Index, out: Path) -> None:
    a = write_image(out, "a.png", None)
    b = write_image(out, "sub/b.png", None)
    c = write_image(out, "c.png", None)
    index.add_image(a, sidecar("a red fox", 1))
    index.add_image(b, sidecar("a blue whale", 3, favourite=True))
    id_c = index.add_image(c, sidecar("green forest", 2, negative="fog"))
    assert prompts(index.search()) == ["a blue whale", "green forest", "a red fox"]
    assert index.count() == 3
    (first,) = index.search(limit=1)
    assert prompts(index.search(limit=1, after=(first.created_at, first.id))) == ["green forest"]
    row = index.get(c)
    assert row is not None
    assert (row.id, row.path, row.negative, row.seed, row.width, row.height) == (
        id_c,
        str(c),
        "fog",
        1002,
        512,
        256,
    )
    assert row.created_at == T0 + 120
    assert row.metadata["job_id"] == "job2"
    assert index.get(b).favourite and index.get(b).sidecar is None
    assert index.get(out / "missing.png") is None


def test_add_image_upserts_by_path(index: Index, out: Path) -> None:
    path = write_image(out, "a.png", sidecar("old words"))
    first = index.add_image(path, sidecar("old words"))
    second = index.add_image(path, sidecar("new words"))
    assert first == second
    assert index.count() == 1
    assert index.get(path).sidecar == str(path.with_suffix(".json"))
    assert index.count("old") == 0
    assert prompts(index.search("new")) == ["new words"]


HOSTILE = [
    'a "quoted [weird] (text) AND OR NOT* :col',
    '"', '""', "*", "(", ")", "NEAR(a b)", "-", "^start", "col:value", "prompt:cat", "'",
    "\\", "AND", "OR NOT", "a OR", "{x y}", "🙂 ünïcode", "   ", "", "a\x00b", "😀*", "+", "\udcff",
]  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_search_never_fails_on_user_text(index: Index, out: Path, text: str) -> None:
    """Any text gives rows, or (punctuation only) a StoreError with a hint: never SQL errors."""
    index.add_image(write_image(out, "a.png", None), sidecar('a "quoted" weird text AND more'))
    try:
        rows = index.search(text)
    except StoreError as exc:
        assert "search for a word" in exc.message
        with pytest.raises(StoreError):
            index.count(text)
    else:
        assert index.count(text) == len(rows)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text())
def test_search_never_raises_on_any_text(index: Index, out: Path, text: str) -> None:
    index.add_image(out / "a.png", sidecar("hypothesis ünïcode (text) 123 AND"))
    try:
        rows = index.search(text, limit=10)
    except StoreError:
        return  # refused with a hint (punctuation only, a field without a value): tested apart
    assert index.count(text) == len(rows)


def test_search_words_are_anded_and_the_last_is_a_prefix(index: Index, out: Path) -> None:
    index.add_image(write_image(out, "1.png", None), sidecar("an astronaut riding a horse", 1))
    index.add_image(write_image(out, "2.png", None), sidecar("astronomy poster", 2))
    index.add_image(write_image(out, "3.png", None), sidecar("a horse in a field", 3))
    assert prompts(index.search("astro")) == ["astronomy poster", "an astronaut riding a horse"]
    assert prompts(index.search("astronaut hor")) == ["an astronaut riding a horse"]
    assert index.search("astro horse") == []  # only the last word is a prefix
    assert prompts(index.search('horse "a')) == [
        "a horse in a field",
        "an astronaut riding a horse",
    ]
    assert index.count("HORSE") == 2


def test_search_matches_the_negative_prompt(index: Index, out: Path) -> None:
    index.add_image(write_image(out, "1.png", None), sidecar("castle", negative="blurry people"))
    assert prompts(index.search("blurry")) == ["castle"]


def test_favourites_filter(index: Index, out: Path) -> None:
    paths = [write_image(out, f"{n}.png", None) for n in range(3)]
    for n, path in enumerate(paths):
        index.add_image(path, sidecar(f"cat number{n}", n))
    index.set_favourite(paths[0], True)
    index.set_favourite(paths[2], True)
    assert prompts(index.search(favourites=True)) == ["cat number2", "cat number0"]
    assert index.count("number0", favourites=True) == 1
    index.set_favourite(paths[2], False)
    assert index.count(favourites=True) == 1
    assert index.get(paths[2]).metadata["favourite"] is False
    assert index.get(paths[0]).metadata["favourite"] is True


def test_trash_filter_and_moves(index: Index, out: Path) -> None:
    keep = write_image(out, "keep.png", None)
    gone = write_image(out, "gone.png", None)
    index.add_image(keep, sidecar("kept dog", 1))
    index.add_image(gone, sidecar("trashed dog", 2))
    trashed = write_image(out, ".trash/gone.png", None)
    index.move_image(gone, trashed, trashed=True)
    assert prompts(index.search("dog")) == ["kept dog"]
    assert prompts(index.search("dog", trashed=True)) == ["trashed dog"]
    assert index.count(trashed=True) == 1
    assert index.get(gone) is None and index.get(trashed).trashed
    index.move_image(trashed, gone, trashed=False)
    assert index.count() == 2 and index.count(trashed=True) == 0
    index.remove_image(gone)
    assert prompts(index.search()) == ["kept dog"]
    assert index.count("trashed") == 0  # the FTS rows went with it


def test_reindex_recovers_state_from_the_files(index: Index, out: Path) -> None:
    write_image(out, "2024-05-01/a.png", sidecar("plain fox", 1))
    write_image(out, "2024-05-01/b.jpg", sidecar("loved fox", 2, favourite=True))
    write_image(out, "deep/er/c.webp", sidecar("deep fox", 3))
    write_image(out, ".trash/2024-05-01/d.png", sidecar("binned fox", 4, favourite=True))
    write_image(out, "nosidecar.JPEG", None)
    write_image(out, "bad.png", None).with_suffix(".json").write_text("{not json")
    write_image(out, ".abc123.part", None)
    write_image(out, ".hidden/e.png", sidecar("hidden fox"))
    write_image(out, "notes.txt", None)

    assert index.reindex() == 6
    assert index.last_reindex == ReindexResult(indexed=6, skipped=1)
    assert prompts(index.search("fox")) == ["deep fox", "loved fox", "plain fox"]
    assert prompts(index.search("fox", trashed=True)) == ["binned fox"]
    assert prompts(index.search(favourites=True)) == ["loved fox"]
    assert index.count(favourites=True, trashed=True) == 1
    assert index.count() == 5
    bare = index.get(out / "nosidecar.JPEG")
    assert (bare.prompt, bare.width, bare.sidecar) == ("", 0, None)
    # Idempotent, and the FTS index follows the rebuilt rows.
    assert index.reindex() == 6
    assert index.count("fox") == 3


def test_reindex_survives_undecodable_names_and_lone_surrogates(index: Index, out: Path) -> None:
    write_image(out, "ok.png", None).with_suffix(".json").write_text(
        '{"prompt": "odd \\udcff text", "created_at": "yesterday-ish", "seed": "12"}'
    )
    with suppress(OSError, UnicodeError):  # some filesystems insist on UTF-8 names
        write_image(out, os.fsdecode(b"bad-\xff.png"), sidecar("unreachable"))
    assert index.reindex() == 1
    row = index.search()[0]
    assert (row.prompt, row.seed) == ("odd ? text", None)
    assert row.created_at > 0  # an unparseable date falls back to the file's mtime


def test_sidecarless_png_uses_embedded_metadata(index: Index, out: Path) -> None:
    pytest.importorskip("imagen_tui.backends.store.pngmeta")
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a castle on a hill\nNegative prompt: fog\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 64x48, Model: sd15",
    )
    path = out / "a1111.png"
    Image.new("RGB", (64, 48)).save(path, pnginfo=info)
    assert index.reindex() == 1
    row = index.get(path)
    assert (row.prompt, row.negative, row.seed, row.steps) == (
        "a castle on a hill",
        "fog",
        1234,
        20,
    )
    assert (row.width, row.height, row.model, row.sidecar) == (64, 48, "sd15", None)
    assert prompts(index.search("cast")) == ["a castle on a hill"]


def _fill(out: Path) -> None:
    write_image(out, "a.png", sidecar("first owl", 1, favourite=True))
    write_image(out, ".trash/b.png", sidecar("second owl", 2))


def _assert_filled(index: Index) -> None:
    assert prompts(index.search("owl")) == ["first owl"]
    assert prompts(index.search("owl", trashed=True)) == ["second owl"]
    assert index.count(favourites=True) == 1


def test_missing_index_is_built_from_the_files(db: Path, out: Path) -> None:
    _fill(out)
    assert not db.exists()
    with Index.open(db, out) as index:
        _assert_filled(index)
        assert index.last_reindex == ReindexResult(indexed=2, skipped=0)
    with Index.open(db, out) as index:  # an existing index is opened, not rebuilt
        assert index.last_reindex is None
        _assert_filled(index)


def test_corrupt_index_is_moved_aside_and_rebuilt(db: Path, out: Path) -> None:
    _fill(out)
    Index.open(db, out).close()
    db.write_bytes(b"this is certainly not an SQLite database" * 100)
    with Index.open(db, out) as index:
        _assert_filled(index)
    aside = list(db.parent.glob("index.sqlite3.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is certainly not")


def test_schema_version_mismatch_is_rebuilt(db: Path, out: Path) -> None:
    _fill(out)
    with Index.open(db, out) as index:
        index.remove_image(out / "a.png")
        index._db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with Index.open(db, out) as index:
        _assert_filled(index)
    assert len(list(db.parent.glob("index.sqlite3.corrupt-*"))) == 1


def test_corruption_found_in_use_is_recovered(db: Path, out: Path) -> None:
    _fill(out)
    index = Index.open(db, out)
    index.close()
    db.write_bytes(b"\0garbage" * 1000)
    index._conn = sqlite3.connect(db, isolation_level=None)  # opens lazily: fails on first use
    try:
        _assert_filled(index)
    finally:
        index.close()
    assert len(list(db.parent.glob("index.sqlite3.corrupt-*"))) == 1


def _run_workers(script: str, args: list[list[str]], sync: Path) -> None:
    """Run `script` in a process per argument list, releasing them all at the same moment."""
    sync.mkdir()
    cmd = [sys.executable, "-c", WAIT_FOR_GO + script, str(sync)]
    procs = [subprocess.Popen([*cmd, *a], stderr=subprocess.PIPE) for a in args]
    deadline = time.monotonic() + 60
    while len(list(sync.glob("ready-*"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.02)
    (sync / "go").touch()
    failures = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode != 0:
            failures.append(err.decode(errors="replace"))
    assert not failures, f"{len(failures)} workers failed; first: {failures[0]}"


# Imports first (slow on a busy machine), then waits, so the workers really collide.
WAIT_FOR_GO = """
import os, sys, time
from pathlib import Path
from imagen_tui.backends.store.index import Index
sync = Path(sys.argv[1])
(sync / f"ready-{os.getpid()}").touch()
deadline = time.monotonic() + 60
while not (sync / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.005)
"""

ADD_FIVE = """
db, out, n = Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
with Index.open(db, out) as index:
    for i in range(5):
        index.add_image(out / f"w{n}-{i}.png", {"prompt": f"worker{n} image{i}", "seed": n})
"""


def test_concurrent_writers_from_many_processes(db: Path, out: Path, tmp_path: Path) -> None:
    args = [[str(db), str(out), str(n)] for n in range(20)]
    _run_workers(ADD_FIVE, args, tmp_path / "sync")
    with Index.open(db, out) as index:
        assert index.count() == 100
        assert index.count("image3") == 20
        assert {row.seed for row in index.search(limit=200)} == set(range(20))


OPEN_ONLY = "Index.open(Path(sys.argv[2]), Path(sys.argv[3])).close()\n"


def test_concurrent_opens_of_a_corrupt_index_rebuild_once(
    db: Path, out: Path, tmp_path: Path
) -> None:
    _fill(out)
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 1000)
    _run_workers(OPEN_ONLY, [[str(db), str(out)] for _ in range(8)], tmp_path / "sync")
    assert len(list(db.parent.glob("index.sqlite3.corrupt-*"))) == 1
    with Index.open(db, out) as index:
        _assert_filled(index)


def test_usage_per_backend(index: Index, out: Path) -> None:
    index.add_image(write_image(out, "1.png", None), sidecar("a", 1, cost_usd=0.25))
    index.add_image(write_image(out, "2.png", None), sidecar("b", 2, cost_usd=0.5))
    index.add_image(
        write_image(out, "3.png", None), sidecar("c", 3, backend="local", cost_usd=None)
    )
    day = datetime.fromtimestamp(T0).astimezone().strftime("%Y-%m-%d")
    assert index.usage() == [
        {"day": day, "backend": "local", "model": "m1", "images": 1, "cost_usd": 0.0},
        {"day": day, "backend": "mock", "model": "m1", "images": 2, "cost_usd": 0.75},
    ]


def test_open_index_defaults_to_the_state_dir(out: Path, isolated_env: dict[str, Path]) -> None:
    _fill(out)
    with open_index(out) as index:
        _assert_filled(index)
    assert (isolated_env["state"] / "imagen-tui" / "index.sqlite3").exists()


def test_closed_index_refuses_use(index: Index) -> None:
    index.close()
    with pytest.raises(RuntimeError, match="closed"):
        index.count()
