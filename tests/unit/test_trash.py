"""Trash is a move with restore; purge only inside the trash."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagen_tui.backends.store import trash as trash_mod
from imagen_tui.backends.store.trash import TRASH_DIRNAME, is_trashed, purge, restore, trash


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def make(out: Path, rel: str, data: bytes = b"img", sidecar: str | None = '{"a": 1}') -> Path:
    image = out / rel
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(data)
    if sidecar is not None:
        image.with_suffix(".json").write_text(sidecar)
    return image


def test_trash_moves_image_and_sidecar_keeping_relative_path(out: Path) -> None:
    image = make(out, "2024-05-06/fox.png")
    moved = trash(out, image)
    assert moved == out.resolve() / TRASH_DIRNAME / "2024-05-06/fox.png"
    assert moved.read_bytes() == b"img"
    assert moved.with_suffix(".json").read_text() == '{"a": 1}'
    assert not image.exists() and not image.with_suffix(".json").exists()
    assert is_trashed(out, moved) and not is_trashed(out, image)


def test_trash_without_sidecar(out: Path) -> None:
    moved = trash(out, make(out, "a.png", sidecar=None))
    assert moved.exists() and not moved.with_suffix(".json").exists()


def test_trash_collision_suffixes_image_and_sidecar_together(out: Path) -> None:
    first = trash(out, make(out, "d/fox.png", b"one", '"one"'))
    second = trash(out, make(out, "d/fox.png", b"two", '"two"'))
    assert second == first.with_name("fox-1.png")
    assert first.read_bytes() == b"one" and first.with_suffix(".json").read_text() == '"one"'
    assert second.read_bytes() == b"two" and second.with_suffix(".json").read_text() == '"two"'


def test_stray_sidecar_in_trash_is_not_adopted(out: Path) -> None:
    (out / TRASH_DIRNAME).mkdir()
    (out / TRASH_DIRNAME / "fox.json").write_text("stray")
    moved = trash(out, make(out, "fox.png", sidecar=None))
    assert moved.name == "fox-1.png"
    assert (out / TRASH_DIRNAME / "fox.json").read_text() == "stray"


def test_restore_round_trip(out: Path) -> None:
    image = make(out, "2024/fox.png")
    back = restore(out, trash(out, image))
    assert back == out.resolve() / "2024/fox.png"
    assert back.read_bytes() == b"img" and back.with_suffix(".json").read_text() == '{"a": 1}'
    assert not any((out / TRASH_DIRNAME).rglob("*.png"))


def test_restore_recreates_missing_dirs_and_suffixes_on_collision(out: Path) -> None:
    moved = trash(out, make(out, "deep/dir/fox.png", b"old"))
    (out / "deep").rename(out / "gone")
    assert restore(out, moved) == out.resolve() / "deep/dir/fox.png"
    moved = trash(out, out / "deep/dir/fox.png")
    make(out, "deep/dir/fox.png", b"new")
    back = restore(out, moved)
    assert back.name == "fox-1.png" and back.read_bytes() == b"old"
    assert (out / "deep/dir/fox.png").read_bytes() == b"new"
    assert back.with_suffix(".json").exists()


def test_purge_deletes_for_good(out: Path) -> None:
    moved = trash(out, make(out, "fox.png"))
    purge(out, moved)
    assert not moved.exists() and not moved.with_suffix(".json").exists()


def test_purge_refuses_files_outside_the_trash(out: Path) -> None:
    image = make(out, "fox.png")
    with pytest.raises(ValueError, match="not in the trash"):
        purge(out, image)
    assert image.exists()


def test_missing_images_raise_file_not_found(out: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.png"):
        trash(out, out / "nope.png")
    with pytest.raises(FileNotFoundError, match="nope.png"):
        restore(out, out / TRASH_DIRNAME / "nope.png")
    with pytest.raises(FileNotFoundError):
        purge(out, out / TRASH_DIRNAME / "nope.png")


def test_misuse_raises_value_error(out: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"x")
    with pytest.raises(ValueError, match="not a file inside"):
        trash(out, outside)
    moved = trash(out, make(out, "fox.png"))
    with pytest.raises(ValueError, match="already in the trash"):
        trash(out, moved)
    with pytest.raises(ValueError, match="not in the trash"):
        restore(out, make(out, "other.png"))
    with pytest.raises(ValueError):
        trash(out, out)
    (out / "sub").mkdir()
    with pytest.raises(IsADirectoryError):
        trash(out, out / "sub")


def test_is_trashed(out: Path) -> None:
    assert is_trashed(out, out / TRASH_DIRNAME / "a/b.png")
    assert not is_trashed(out, out / TRASH_DIRNAME)
    assert not is_trashed(out, out / "a/b.png")
    assert not is_trashed(out, out / ".trashy/b.png")


def test_relative_and_symlinked_output_dir(out: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(out)
    moved = trash(link, make(out, "fox.png"))
    assert is_trashed(link, moved) and is_trashed(out, moved)
    assert restore(link, moved).read_bytes() == b"img"


def test_sidecar_failure_rolls_back_the_image(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = make(out, "fox.png")
    real = trash_mod._move_noreplace

    def fail_on_json(src: Path, dst: Path) -> None:
        if src.suffix == ".json":
            raise PermissionError("denied")
        real(src, dst)

    monkeypatch.setattr(trash_mod, "_move_noreplace", fail_on_json)
    with pytest.raises(PermissionError):
        trash(out, image)
    assert image.read_bytes() == b"img" and image.with_suffix(".json").exists()
    assert not any((out / TRASH_DIRNAME).rglob("*.png"))


def test_works_without_hard_links(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_link(*args: object, **kwargs: object) -> None:
        raise PermissionError

    monkeypatch.setattr(trash_mod.os, "link", no_link)
    trash(out, make(out, "fox.png", b"one"))
    moved = trash(out, make(out, "fox.png", b"two"))
    assert moved.name == "fox-1.png" and moved.read_bytes() == b"two"
    assert moved.with_suffix(".json").exists()


def test_locate_takes_the_path_an_image_had_before_it_was_trashed(out: Path) -> None:
    """`imagen-tui trash X` then `imagen-tui restore X`: X is where the image was."""
    image = make(out, "2024/fox.png")
    moved = trash(out, image)
    assert trash_mod.locate(out, image) == moved
    assert trash_mod.locate(out, moved) == moved
    with pytest.raises(ValueError, match="history --trashed"):
        trash_mod.locate(out, out / "2024/never.png")
