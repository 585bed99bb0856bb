"""What ComfyUI says, read into our terms. Pure: websocket frames, previews, history, queue.

Protocol facts from comfyanonymous/ComfyUI `server.py`, `execution.py`, `protocol.py` and from
traffic recorded on ComfyUI 0.3.64 (`shared/fixtures/comfyui/`, 2026-11-22), re-checked
2026-11-29 (`shared/reference/providers.md` §4):

- text frames are `{"type", "data"}`; a run's frames carry `data.prompt_id`; `executing` with
  `node: null` means the prompt is finished, and only after it is `/history/{id}` written;
- `progress` {value, max, node} counts sampler steps; `progress_state` and `executing` follow
  nodes; `execution_cached` lists nodes that will not run;
- `execution_error` {node_id, node_type, exception_type, exception_message} and
  `execution_interrupted` end a run without images;
- binary frames: bytes 0-3 big-endian event type; 1 = preview (bytes 4-7 format 1 JPEG /
  2 PNG, then the image); 4 = preview with metadata (4-byte JSON length, JSON, image).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ErrorCode, ImagenError
from ..text import one_line

PREVIEW_IMAGE = 1
PREVIEW_IMAGE_WITH_METADATA = 4
SAFETY_WORDS = ("nsfw", "safety", "moderation", "content policy", "content_policy")
"""An `execution_error` mentioning these is a block: ComfyUI's API nodes relay provider
moderation errors as node exceptions, and safety-checker nodes raise them too."""


@dataclass(frozen=True, slots=True)
class OutputImage:
    """One image a node saved, as `/view` wants it."""

    filename: str
    subfolder: str = ""
    type: str = "output"

    def query(self) -> dict[str, str]:
        return {"filename": self.filename, "subfolder": self.subfolder, "type": self.type}


def decode_text_frame(text: str) -> tuple[str, Mapping[str, Any]] | None:
    """`(type, data)` of a text frame; None when it is not a ComfyUI message."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    data = message.get("data")
    return message["type"], data if isinstance(data, dict) else {}


def preview_image(frame: bytes) -> bytes | None:
    """The image inside a binary preview frame; None for any other binary frame."""
    if len(frame) < 8:
        return None
    (event,) = struct.unpack(">I", frame[:4])
    if event == PREVIEW_IMAGE:
        return frame[8:] or None
    if event == PREVIEW_IMAGE_WITH_METADATA:
        (size,) = struct.unpack(">I", frame[4:8])
        return frame[8 + size :] or None
    return None


def images_of(output: Any) -> list[OutputImage]:
    """The images of one node's output (`{"images": [{filename, subfolder, type}]}`)."""
    images = output.get("images") if isinstance(output, dict) else None
    found = []
    for item in images if isinstance(images, list) else []:
        if isinstance(item, dict) and isinstance(item.get("filename"), str):
            found.append(
                OutputImage(
                    item["filename"], str(item.get("subfolder") or ""), str(item.get("type") or "")
                )
            )
    return found


def pick_image(images: list[OutputImage], source: str) -> OutputImage:
    """The run's result: the first saved (`output`) image, else the first preview.

    Raises `ImagenError(NO_IMAGE)` when the run made no image.
    """
    for image in images:
        if image.type == "output":
            return image
    if images:
        return images[0]
    raise ImagenError(
        ErrorCode.NO_IMAGE, f"{source} made no image (does the workflow end in SaveImage?)"
    )


def execution_error(data: Mapping[str, Any]) -> ImagenError:
    """The error for an `execution_error` message (or its copy in history)."""
    kind = str(data.get("exception_type") or "error")
    text = f"node {data.get('node_id', '?')} ({data.get('node_type', '?')}) failed: {kind}: "
    text += str(data.get("exception_message") or "")
    lowered = text.lower()
    if any(word in lowered for word in SAFETY_WORDS):
        code = ErrorCode.SAFETY_BLOCKED
    elif "outofmemory" in lowered.replace(" ", ""):
        code = ErrorCode.UNAVAILABLE  # the GPU may be free on the next attempt
    else:
        code = ErrorCode.BAD_REQUEST
    return ImagenError(code, one_line(text))


def interrupted() -> ImagenError:
    return ImagenError(ErrorCode.CANCELLED, "interrupted on the ComfyUI server")


def history_entry(body: Any, prompt_id: str) -> Mapping[str, Any] | None:
    """This prompt's `/history/{id}` entry; None while it is not written yet (`{}`)."""
    entry = body.get(prompt_id) if isinstance(body, dict) else None
    return entry if isinstance(entry, dict) else None


def history_images(entry: Mapping[str, Any], source: str) -> list[OutputImage]:
    """The images a finished run saved; raises the run's failure when it failed."""
    raw_status = entry.get("status")
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    if status.get("status_str") == "error":
        for kind, data in reversed(status.get("messages") or []):
            if kind == "execution_error" and isinstance(data, dict):
                raise execution_error(data)
            if kind == "execution_interrupted":
                raise interrupted()
        raise ImagenError(ErrorCode.BAD_REQUEST, f"{source}: the run failed")
    outputs = entry.get("outputs")
    images = []
    for output in outputs.values() if isinstance(outputs, dict) else []:
        images += images_of(output)
    return images


def queue_position(body: Any, prompt_id: str) -> str | None:
    """ "running", "pending" or None: where `GET /queue` lists this prompt.

    Queue items are `[number, prompt_id, prompt, extra_data, outputs_to_execute, ...]`.
    """
    if not isinstance(body, dict):
        return None
    for state, key in (("running", "queue_running"), ("pending", "queue_pending")):
        for item in body.get(key) or []:
            if isinstance(item, list) and len(item) > 1 and item[1] == prompt_id:
                return state
    return None


def queue_length(body: Any) -> int:
    """How many prompts `GET /queue` shows running or pending (0 for an odd answer)."""
    if not isinstance(body, dict):
        return 0
    return sum(len(body.get(key) or []) for key in ("queue_running", "queue_pending"))


@dataclass
class RunTracker:
    """Follows one prompt's frames: progress, saved images, and how the run ended."""

    prompt_id: str
    graph: Mapping[str, Any]
    images: list[OutputImage] = field(default_factory=list)
    finished: bool = False
    error: ImagenError | None = None
    _started: list[str] = field(default_factory=list)
    _cached: int = 0

    def feed(self, kind: str, data: Mapping[str, Any]) -> tuple[float, str] | None:
        """Take one frame; return `(fraction, message)` when progress moved."""
        if data.get("prompt_id") != self.prompt_id or self.finished:
            return None
        if kind == "execution_start":
            return 0.0, "started"
        if kind == "execution_cached":
            self._cached = len(data.get("nodes") or [])
        elif kind == "executing":
            return self._executing(data.get("node"))
        elif kind == "progress":
            return self._step(data)
        elif kind == "executed":
            self.images += images_of(data.get("output"))
        elif kind == "execution_error":
            self.error, self.finished = execution_error(data), True
        elif kind == "execution_interrupted":
            self.error, self.finished = interrupted(), True
        return None

    def _executing(self, node: Any) -> tuple[float, str] | None:
        if node is None:
            self.finished = True
            return None
        node = str(node)
        if node not in self._started:
            self._started.append(node)
        done = self._cached + len(self._started) - 1
        total = max(1, len(self.graph))
        return min(0.99, done / total), f"node {done + 1}/{total} ({self._class_of(node)})"

    def _step(self, data: Mapping[str, Any]) -> tuple[float, str] | None:
        value, most = data.get("value"), data.get("max")
        if not isinstance(value, int | float) or not isinstance(most, int | float) or most <= 0:
            return None
        return min(0.99, value / most), f"step {int(value)}/{int(most)}"

    def _class_of(self, node: str) -> str:
        info = self.graph.get(node)
        name = info.get("class_type") if isinstance(info, dict) else None
        return one_line(name or "?", 60)
