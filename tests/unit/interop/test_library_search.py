"""The fixtures indexed as a library without sidecars: searches the README promises.

Goes through the store's Index (reindex → import_metadata → read_recipe), so it checks the
join between the readers and the index rather than the readers alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imagen_tui.backends.store.index import Index

from .conftest import DATA, png_with


@pytest.fixture
def index(tmp_path: Path) -> Index:
    library = tmp_path / "library"
    shutil.copytree(DATA, library, ignore=shutil.ignore_patterns("*.md"))
    png_with(library / "cat1.png", parameters="白い猫が雪の中を歩く\nSteps: 1, Seed: 1")
    png_with(library / "cat2.png", parameters="一只橘猫在窗台上睡觉\nSteps: 1, Seed: 2")
    opened = Index.open(tmp_path / "index.sqlite3", library)
    opened.reindex()
    yield opened
    opened.close()


def names(index: Index, query: str) -> list[str]:
    return sorted(Path(row.path).name for row in index.search(query))


def test_every_fixture_is_indexed_with_a_size(index: Index) -> None:
    rows = index.search()
    assert len(rows) == 20  # 18 fixtures + 2 CJK prompts
    assert all(row.width > 0 and row.height > 0 for row in rows)
    assert {(r.width, r.height) for r in rows if "zero-dimensions" in r.path} == {(640, 360)}


def test_searches(index: Index) -> None:
    assert names(index, "テスト") == ["utf8_in_tEXt.png"]
    assert names(index, "misty") == ["a1111.jpg", "a1111.webp"]
    assert names(index, "volumetric") == ["combine.png", "concat.png"]


def test_cjk_without_spaces(index: Index) -> None:
    assert names(index, "猫") == ["cat1.png", "cat2.png", "utf8_in_tEXt.png"]
    assert names(index, "雪") == ["cat1.png"]
    assert names(index, "橘猫") == names(index, "睡觉") == ["cat2.png"]


def test_fooocus_seed_and_favourite_on_a_nan_graph(index: Index) -> None:
    fooocus = next(r for r in index.search("cozy cabin"))
    assert fooocus.seed == 8834915829939807712
    nan = next(r for r in index.search("goldfish in a bowl"))
    index.set_favourite(Path(nan.path), True)
    row = index.get(Path(nan.path))
    assert row is not None and row.favourite and row.metadata["provider"]["sampler"] == "euler"
