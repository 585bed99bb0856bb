"""ComfyUI frames, previews, history and queue, read from recorded traffic (no sockets)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from imagen_tui.backends.adapters.comfyui_messages import (
    OutputImage,
    RunTracker,
    decode_text_frame,
    execution_error,
    history_entry,
    history_images,
    pick_image,
    preview_image,
    queue_length,
    queue_position,
)
from imagen_tui.backends.errors import ErrorCode, ImagenError

RECORDED = Path(__file__).parents[1] / "fakes/recorded/comfyui"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / f"{name}.json").read_text())


def replay(name: str) -> tuple[RunTracker, list[tuple[float, str]]]:
    run = recorded(name)
    prompt_id = json.loads(run["post"]["body"])["prompt_id"]
    tracker = RunTracker(prompt_id, run["request"]["prompt"])
    updates = []
    for item in run["ws"]:
        decoded = decode_text_frame(json.dumps(item["frame"]))
        assert decoded is not None
        update = tracker.feed(*decoded)
        if update:
            updates.append(update)
    return tracker, updates


def test_recorded_success_run() -> None:
    tracker, updates = replay("basic")
    assert tracker.finished and tracker.error is None
    assert tracker.images == [OutputImage("imagen1795345788_00001_.png", "", "output")]
    assert updates[0] == (0.0, "started")
    assert [m for _, m in updates[1:]] == [
        "node 1/3 (EmptyImage)",
        "node 2/3 (ImageInvert)",
        "node 3/3 (SaveImage)",
    ]
    fractions = [f for f, _ in updates]
    assert fractions == sorted(fractions) and max(fractions) < 1.0


def test_recorded_cached_resubmission_finishes_with_the_old_file() -> None:
    tracker, _ = replay("cached-resubmission")
    assert tracker.finished and tracker.error is None
    assert tracker.images[0].filename == "imagen1795345788_00001_.png"


def test_recorded_interrupt_is_cancelled() -> None:
    tracker, _ = replay("interrupt-mid-run")
    assert tracker.finished and tracker.error is not None
    assert tracker.error.code == ErrorCode.CANCELLED


def test_frames_of_other_prompts_are_ignored() -> None:
    tracker = RunTracker("mine", {"1": {"class_type": "KSampler"}})
    assert tracker.feed("executing", {"node": None, "prompt_id": "theirs"}) is None
    assert tracker.feed("progress", {"value": 3, "max": 20, "prompt_id": "theirs"}) is None
    assert not tracker.finished
    assert tracker.feed("progress", {"value": 5, "max": 20, "prompt_id": "mine"}) == (
        0.25,
        "step 5/20",
    )


def test_status_frames_have_no_prompt_and_change_nothing() -> None:
    tracker = RunTracker("p", {})
    frame = recorded("basic")["ws_on_connect"]
    assert tracker.feed(frame["type"], frame["data"]) is None


@pytest.mark.parametrize("text", ["not json", "[]", '{"data": {}}', '{"type": 3}'])
def test_non_messages_are_skipped(text: str) -> None:
    assert decode_text_frame(text) is None


def test_preview_frames() -> None:
    assert preview_image(struct.pack(">II", 1, 2) + b"PNGDATA") == b"PNGDATA"
    meta = json.dumps({"node_id": "5"}).encode()
    framed = struct.pack(">II", 4, len(meta)) + meta + b"JPEGDATA"
    assert preview_image(framed) == b"JPEGDATA"
    assert preview_image(struct.pack(">II", 3, 0) + b"text") is None
    assert preview_image(b"\x00\x00") is None
    assert preview_image(struct.pack(">II", 1, 2)) is None


def test_recorded_history() -> None:
    run = recorded("basic")
    prompt_id = json.loads(run["post"]["body"])["prompt_id"]
    entry = history_entry(run["history"]["body"], prompt_id)
    assert entry is not None
    assert history_images(entry, "s") == [OutputImage("imagen1795345788_00001_.png")]
    assert history_entry(recorded("history-unknown-id")["response"]["body"], prompt_id) is None


def test_recorded_interrupted_history_raises_cancelled() -> None:
    run = recorded("interrupt-mid-run")
    prompt_id = json.loads(run["post"]["body"])["prompt_id"]
    entry = history_entry(run["history"]["body"], prompt_id)
    assert entry is not None
    with pytest.raises(ImagenError) as info:
        history_images(entry, "s")
    assert info.value.code == ErrorCode.CANCELLED


def test_history_with_an_execution_error() -> None:
    entry = {
        "outputs": {},
        "status": {
            "status_str": "error",
            "completed": False,
            "messages": [
                ["execution_start", {"prompt_id": "p"}],
                [
                    "execution_error",
                    {
                        "node_id": "4",
                        "node_type": "KSampler",
                        "exception_type": "torch.OutOfMemoryError",
                        "exception_message": "CUDA out of memory",
                    },
                ],
            ],
        },
    }
    with pytest.raises(ImagenError) as info:
        history_images(entry, "s")
    assert info.value.code == ErrorCode.UNAVAILABLE
    assert "node 4 (KSampler) failed" in info.value.detail


@pytest.mark.parametrize(
    ("kind", "message", "code"),
    [
        ("RuntimeError", "shapes cannot be multiplied", ErrorCode.BAD_REQUEST),
        ("Exception", "Content blocked by moderation", ErrorCode.SAFETY_BLOCKED),
        ("ValueError", "NSFW content detected", ErrorCode.SAFETY_BLOCKED),
        ("torch.OutOfMemoryError", "Allocation on device", ErrorCode.UNAVAILABLE),
    ],
)
def test_execution_errors(kind: str, message: str, code: ErrorCode) -> None:
    err = execution_error({"node_id": "7", "node_type": "X", "exception_type": kind,
                           "exception_message": message + "\x1b[2J"})  # fmt: skip
    assert err.code == code and "\x1b" not in err.detail


def test_pick_image_prefers_saved_output() -> None:
    temp, out = OutputImage("a.png", "", "temp"), OutputImage("b.png", "", "output")
    assert pick_image([temp, out], "s") == out
    assert pick_image([temp], "s") == temp
    with pytest.raises(ImagenError) as info:
        pick_image([], "prompt p")
    assert info.value.code == ErrorCode.NO_IMAGE and "SaveImage" in info.value.detail


def test_queue_position_from_recorded_shapes() -> None:
    idle = recorded("queue-idle")["response"]["body"]
    assert queue_position(idle, "p") is None
    busy = {"queue_running": [[1, "r", {}, {}, []]], "queue_pending": [[2, "p", {}, {}, []]]}
    assert queue_position(busy, "r") == "running"
    assert queue_position(busy, "p") == "pending"
    assert queue_position("junk", "p") is None


def test_queue_length_counts_everyones_prompts() -> None:
    assert queue_length(recorded("queue-idle")["response"]["body"]) == 0
    busy = {"queue_running": [[1, "r", {}, {}, []]], "queue_pending": [[2, "p"], [3, "q"]]}
    assert queue_length(busy) == 3
    assert queue_length(None) == 0 and queue_length({"queue_running": None}) == 0
