"""Every image is in the history whatever its sidecar holds; a broken sidecar says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from imagen_tui.backends.errors import ImagenTuiError
from imagen_tui.backends.store.history import HistoryStore

BROKEN = {
    "bad-json": (b"{not json", "not valid JSON"),
    "latin-1": ('{"prompt": "caf\xe9"}'.encode("latin-1"), "not UTF-8 text"),
    "a-list": (b"[1, 2]", "not a JSON object (a list)"),
    "null": (b"null", "not a JSON object"),
    "empty": (b"", "not valid JSON"),
    "too-deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "huge-int": (b'{"seed": 1' + b"0" * 5000 + b"}", "not valid JSON"),
}
WRONG_SHAPES = {"prompt": ["a", "list"], "width": "wide", "seed": 7, "negative": "blurry",
                "tags": "x", "request": 5, "created_at": {}}  # fmt: skip


def store_with(tmp_path: Path, sidecars: dict[str, bytes]) -> tuple[HistoryStore, Path]:
    out = tmp_path / "out"
    out.mkdir()
    for name, data in sidecars.items():
        Image.new("RGB", (8, 6), (200, 30, 30)).save(out / f"{name}.png")
        (out / f"{name}.json").write_bytes(data)
    store = HistoryStore(
        out,
        "{date}/{slug}",
        index_path=tmp_path / "index.sqlite3",
        thumbs_dir=tmp_path / "thumbs",
        library_path=tmp_path / "library.json",
    )
    return store, out


def test_reindex_lists_every_image_and_metadata_says_why_each_sidecar_is_unusable(
    tmp_path: Path,
) -> None:
    sidecars = {name: data for name, (data, _) in BROKEN.items()}
    sidecars["fine"] = json.dumps({"prompt": "a fox", "seed": 3}).encode()
    store, out = store_with(tmp_path, sidecars)
    result = store.reindex(workers=1)
    assert result.indexed == len(sidecars) and result.skipped == len(BROKEN)
    listed = {Path(r.path).stem for r in store.page(None, limit=100).rows}
    assert listed == set(sidecars)
    for name, (_, reason) in BROKEN.items():
        meta = store.metadata(out / f"{name}.png")
        assert reason in meta["sidecar_problem"], name
        assert (meta["width"], meta["height"]) == (8, 6)  # the image still describes itself
    fine = store.metadata(out / "fine.png")
    assert fine["sidecar_problem"] is None and fine["prompt"] == "a fox"


def test_wrong_field_types_are_named_and_the_good_fields_kept(tmp_path: Path) -> None:
    store, out = store_with(tmp_path, {"odd": json.dumps(WRONG_SHAPES).encode()})
    store.reindex(workers=1)
    meta = store.metadata(out / "odd.png")
    problem = meta["sidecar_problem"]
    assert "prompt should be text" in problem and "width should be a whole number" in problem
    assert meta["prompt"] is None and meta["width"] == 8  # from the header instead
    assert meta["seed"] == 7 and meta["negative"] == "blurry"
    assert [Path(r.path).name for r in store.page(None, limit=10).rows] == ["odd.png"]


def test_an_image_without_a_prompt_gives_its_settings_only_when_asked(tmp_path: Path) -> None:
    data = json.dumps({"seed": 11, "steps": 20, "negative": "fog", "width": 640, "height": 512})
    store, out = store_with(tmp_path, {"foreign": data.encode()})
    image = out / "foreign.png"
    with pytest.raises(ImagenTuiError, match="no prompt"):
        store.request_for(image)
    request = store.request_for(image, require_prompt=False)
    assert request.prompt == "" and (request.seed, request.steps) == (11, 20)
    assert (request.negative, request.width, request.height) == ("fog", 640, 512)


def test_a_stored_request_with_an_empty_prompt_is_not_re_run(tmp_path: Path) -> None:
    data = json.dumps({"prompt": "", "request": {"prompt": " ", "seed": 4}})
    store, out = store_with(tmp_path, {"blank": data.encode()})
    with pytest.raises(ImagenTuiError, match="no prompt"):
        store.request_for(out / "blank.png")
    assert store.request_for(out / "blank.png", require_prompt=False).seed == 4
