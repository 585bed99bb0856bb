"""Naming, slugs and atomic never-overwriting writes."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from imagen_tui.backends.config import OutputConfig
from imagen_tui.backends.store import files
from imagen_tui.backends.store.files import (
    check_writable,
    safe_join,
    sidecar_path,
    write_json_atomic,
    write_new_file,
)
from imagen_tui.backends.store.naming import (
    TEMPLATE_FIELDS,
    NameFields,
    render_name,
    slugify,
    validate_template,
)

# pyproject's norecursedirs replaces pytest's defaults, so a `.hypothesis` dir in the repo root
# makes hypothesis warn (an error here) at collection: keep its cache out of the tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "imagen-tui-hypothesis")

SLUG_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
WHEN = datetime(2024, 5, 6, 7, 8, 9)


def fields(**overrides: object) -> NameFields:
    base: dict[str, object] = dict(
        when=WHEN, slug="a-red-fox", seed=42, backend="mock", n=0, ext="png"
    )
    base.update(overrides)
    return NameFields(**base)  # type: ignore[arg-type]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty output dir (tmp_path itself holds conftest's env dirs)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.name.endswith(".part"))


# --- slugify ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A Red Fox", "a-red-fox"),
        ("Crème brûlée, déjà vu!", "creme-brulee-deja-vu"),
        ("Straße ﬁsh Æon", "strasse-fish-aeon"),
        ("  --hello--  ", "hello"),
        ("rm -rf ~/ $HOME '../etc/passwd'", "rm-rf-home-etc-passwd"),
        ("file.tar.gz", "file-tar-gz"),
        ("日本語", "image"),
        ("", "image"),
        ("!!!", "image"),
    ],
)
def test_slugify_examples(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_cuts_at_word_boundary() -> None:
    assert slugify("hello wonderful world of cats", max_len=20) == "hello-wonderful"
    assert slugify("hello wonderful world", max_len=15) == "hello-wonderful"


def test_slugify_hard_cuts_one_long_word_without_trailing_dash() -> None:
    assert slugify("a" * 50) == "a" * 40
    assert slugify("ab " + "c" * 50, max_len=10) == "ab-ccccccc"


def test_slugify_fallback_respects_tiny_max_len() -> None:
    assert slugify("", max_len=3) == "ima"
    with pytest.raises(ValueError):
        slugify("x", max_len=0)


@given(st.text(), st.integers(min_value=1, max_value=80))
def test_slugify_properties(text: str, max_len: int) -> None:
    slug = slugify(text, max_len)
    assert SLUG_RE.fullmatch(slug), slug
    assert 1 <= len(slug) <= max_len
    assert slugify(slug, max_len) == slug


# --- templates -------------------------------------------------------------------------------


def test_default_template_is_valid_and_fields_listed() -> None:
    assert validate_template(OutputConfig().naming) == []
    assert set(TEMPLATE_FIELDS) == {"date", "time", "slug", "seed", "backend", "n", "ext"}


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("{foo}/{slug}", "{foo}"),
        ("{}", "unknown placeholder {}"),
        ("", "empty"),
        ("   ", "empty"),
        ("/abs/{slug}", "relative"),
        ("~/{slug}", "relative"),
        ("{date}/../{slug}", ".."),
        ("{slug", "syntax"),
        ("{slug}}", "syntax"),
        ("{date}/", "file name"),
        ("{slug!r}", "conversion"),
        ("{seed:05}", "only supported for {n}"),
        ("{n:zz}", "bad format spec"),
    ],
)
def test_validate_template_reports_problems(template: str, needle: str) -> None:
    problems = validate_template(template)
    assert problems
    assert any(needle in p for p in problems), problems


def test_unknown_placeholder_lists_the_known_ones() -> None:
    (problem,) = validate_template("{foo}.{ext}")
    assert "{foo}" in problem
    assert all(f"{{{name}}}" in problem for name in TEMPLATE_FIELDS)


@pytest.mark.parametrize("template", ["{slug}", "{backend}/{n:03d}-{slug}.{ext}", "x/./y-{n}"])
def test_validate_template_accepts(template: str) -> None:
    assert validate_template(template) == []


def test_render_default() -> None:
    assert render_name(OutputConfig().naming, fields()) == PurePosixPath(
        "2024-05-06/070809-a-red-fox-42.png"
    )


def test_render_all_fields_and_spec() -> None:
    got = render_name("{backend}/{date}_{time}_{n:03d}_{seed}_{slug}.{ext}", fields(n=7, ext="jpg"))
    assert got == PurePosixPath("mock/2024-05-06_070809_007_42_a-red-fox.jpg")


def test_render_appends_extension_when_template_has_none() -> None:
    assert render_name("{slug}-{n}", fields(ext="webp")) == PurePosixPath("a-red-fox-0.webp")
    assert render_name("{slug}{{ext}}", fields()) == PurePosixPath("a-red-fox{ext}.png")


def test_render_sanitises_hostile_values() -> None:
    hostile = fields(
        slug="../../etc/passwd", backend="../Open AI/\\prod\x00", seed=None, ext="/.sh"
    )
    got = render_name("{backend}/{slug}-{seed}.{ext}", hostile)
    assert got == PurePosixPath("open-ai-prod/etc-passwd-noseed.sh")


def test_render_drops_dot_components_and_hidden_prefixes() -> None:
    got = render_name("./.hidden/..{slug}/.{n}.{ext}", fields())
    assert got == PurePosixPath("hidden/a-red-fox/0.png")


def test_render_caps_component_bytes_keeping_extension() -> None:
    got = render_name("{slug}" + "é" * 200 + ".{ext}", fields())
    assert len(got.name.encode()) <= 120
    assert got.suffix == ".png"
    got = render_name("x" * 300 + "/{slug}", fields())
    assert len(got.parts[0]) == 120


def test_render_drops_control_chars_and_surrogates() -> None:
    assert render_name("a\nb\x00c\ud800d/{slug}", fields()) == PurePosixPath("abcd/a-red-fox.png")


def test_render_fill_char_cannot_make_a_separator() -> None:
    assert render_name("a{n:/>4}b", fields(n=1)) == PurePosixPath("a---1b.png")


@pytest.mark.parametrize("template", ["{foo}", "/x/{slug}", "../{slug}", ""])
def test_render_rejects_invalid_templates(template: str) -> None:
    with pytest.raises(ValueError):
        render_name(template, fields())


_pieces = st.lists(
    st.one_of(
        st.sampled_from([f"{{{name}}}" for name in TEMPLATE_FIELDS] + ["/", ".", "-", "{n:02d}"]),
        st.text(alphabet=st.characters(blacklist_characters="{}/"), max_size=8),
    ),
    min_size=1,
    max_size=10,
)


@given(
    _pieces,
    st.text(),
    st.text(),
    st.text(max_size=6),
    st.one_of(st.none(), st.integers(0, 2**32)),
    st.integers(0, 99),
)
def test_render_is_always_a_clean_relative_path(
    pieces: list[str], slug: str, backend: str, ext: str, seed: int | None, n: int
) -> None:
    template = "".join(pieces)
    if validate_template(template):
        return
    got = render_name(template, fields(slug=slug, backend=backend, ext=ext, seed=seed, n=n))
    assert not got.is_absolute()
    assert got.parts
    for part in got.parts:
        assert part not in ("", ".", "..")
        assert not part.startswith((".", "-"))
        assert "\\" not in part and not re.search(r"[\x00-\x1f]", part)
        part.encode("utf-8")  # a real file name: no lone surrogates
        assert len(part.encode()) <= 120


# --- safe_join -------------------------------------------------------------------------------


def test_safe_join_inside(tmp_path: Path) -> None:
    assert safe_join(tmp_path, PurePosixPath("a/b.png")) == tmp_path.resolve() / "a/b.png"


@pytest.mark.parametrize("rel", ["../x.png", "a/../../x.png", "/etc/passwd", "."])
def test_safe_join_rejects_escapes(tmp_path: Path, rel: str) -> None:
    with pytest.raises(ValueError):
        safe_join(tmp_path / "out", PurePosixPath(rel))


def test_safe_join_rejects_symlinked_subdir_pointing_outside(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "evil").symlink_to(outside)
    with pytest.raises(ValueError, match="leave"):
        safe_join(out, PurePosixPath("evil/x.png"))


# --- write_new_file --------------------------------------------------------------------------


def test_write_new_file_writes_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "img.png"
    first = write_new_file(target, b"one")
    second = write_new_file(target, b"two")
    third = write_new_file(target, b"three")
    assert (first, second, third) == (
        target,
        target.with_name("img-1.png"),
        target.with_name("img-2.png"),
    )
    assert [p.read_bytes() for p in (first, second, third)] == [b"one", b"two", b"three"]
    assert leftovers(tmp_path) == []


def test_write_new_file_mode_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_new_file(tmp_path / "m.png", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("errno_exc", [PermissionError, OSError(95, "Operation not supported")])
def test_write_new_file_falls_back_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_exc: object
) -> None:
    def no_link(*args: object, **kwargs: object) -> None:
        raise errno_exc  # type: ignore[misc]

    monkeypatch.setattr(files.os, "link", no_link)
    target = tmp_path / "img.png"
    assert write_new_file(target, b"a") == target
    assert write_new_file(target, b"b") == tmp_path / "img-1.png"
    assert target.read_bytes() == b"a" and (tmp_path / "img-1.png").read_bytes() == b"b"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["link", "fsync"])
def test_write_new_file_leaves_nothing_when_interrupted(
    out: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, where, interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_new_file(out / "img.png", b"data")
    assert list(out.iterdir()) == []


def test_fallback_interrupted_after_reservation_leaves_nothing(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(*args: object, **kwargs: object) -> None:
        raise PermissionError

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "link", no_link)
    monkeypatch.setattr(files.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_new_file(out / "img.png", b"data")
    assert list(out.iterdir()) == []


def test_write_new_file_gives_up_after_bounded_collisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        files, "numbered_names", lambda p, limit=3: iter([p, p.with_name("img-1.png")])
    )
    for name in ("img.png", "img-1.png"):
        (tmp_path / name).write_bytes(b"taken")
    with pytest.raises(FileExistsError):
        write_new_file(tmp_path / "img.png", b"new")
    assert leftovers(tmp_path) == []
    assert (tmp_path / "img.png").read_bytes() == b"taken"


def test_write_new_file_concurrent_threads(tmp_path: Path) -> None:
    target, barrier, results = tmp_path / "same.png", threading.Barrier(50), []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait(timeout=10)
        path = write_new_file(target, f"payload {i}".encode())
        with lock:
            results.append((i, path))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len({path for _, path in results}) == 50
    for i, path in results:
        assert path.read_bytes() == f"payload {i}".encode()
    assert leftovers(tmp_path) == []


def test_write_new_file_concurrent_processes(out: Path) -> None:
    target = out / "same.png"
    payloads = [f"process payload {i}".encode() for i in range(50)]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=10, mp_context=ctx) as pool:
        paths = list(pool.map(write_new_file, [target] * 50, payloads, timeout=60))
    assert len(set(paths)) == 50
    assert sorted(p.read_bytes() for p in paths) == sorted(payloads)
    assert len(list(out.iterdir())) == 50


# --- json, sidecars, writability -------------------------------------------------------------


def test_write_json_atomic_replaces_and_keeps_unicode_and_order(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "img.json"
    write_json_atomic(path, {"z": 1, "prompt": "café ☕"})
    write_json_atomic(path, {"z": 2, "prompt": "thé", "favourite": True})
    text = path.read_text(encoding="utf-8")
    assert "thé" in text and '\n  "z": 2' in text
    assert list(json.loads(text)) == ["z", "prompt", "favourite"]
    assert leftovers(tmp_path) == []


def test_write_json_atomic_failure_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "img.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert leftovers(tmp_path) == []


def test_sidecar_path() -> None:
    assert sidecar_path(Path("/o/2024/x-1.png")) == Path("/o/2024/x-1.json")


def test_check_writable_creates_missing_dir(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    assert check_writable(out) is None
    assert out.is_dir() and list(out.iterdir()) == []


def test_check_writable_reports_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    reason = check_writable(blocker / "sub")
    assert reason is not None and str(blocker / "sub") in reason
    assert "not writable" in reason and "\n" not in reason
    assert "not a directory" in (check_writable(blocker) or "")
