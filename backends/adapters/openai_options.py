"""The image fields both OpenAI types accept, under the provider's own names, and their checks.

Fields of `POST /images/generations`, `/images/edits` and the Responses `image_generation` tool
(`shared/reference/providers.md` §1, §1b; openai-python 3.57.0 `image_generate_params.py`,
`types/responses/tool.py`; checked 2026-11-29). GIF/SVG output is not offered: the history
stores raster images, and those formats are access-gated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ErrorCode, ImagenError
from ..models import GenerationRequest
from ..schema import bounds, field_error
from .openai_models import (
    ModelFamily,
    model_family,
    normalize_size,
    refused_option,
)

Quality = Literal["auto", "low", "medium", "high", "xhigh", "max", "standard", "hd"]


@dataclass(kw_only=True)
class ImageFields:
    """Image options shared by `openai` and `openai-responses` (provider field names)."""

    quality: Quality = "auto"
    """Rendering quality: auto, low, medium, high (xhigh/max on gpt-image-2.5; standard/hd on
    retired dall-e-3). Drives the cost estimate; auto is estimated as high."""
    background: Literal["auto", "transparent", "opaque"] = "auto"
    """Background: transparent needs output_format png or webp."""
    output_format: Literal["png", "jpeg", "webp"] = "png"
    """Format of the returned image."""
    output_compression: int | None = field(default=None, metadata=bounds(ge=0, le=100))
    """Compression level 0-100 for jpeg/webp (provider default 100)."""
    moderation: Literal["auto", "low"] = "auto"
    """Content moderation strictness."""
    complexity: Literal["low", "medium", "high"] | None = None
    """Planning effort, independent of quality; the model's default when unset."""
    input_fidelity: Literal["high", "low"] | None = None
    """How closely edits keep the reference images (gpt-image-1.5 high/low, 1-mini low only,
    gpt-image-2: leave unset). Edits only."""
    partial_images: int = field(default=2, metadata=bounds(ge=0, le=3))
    """Partial images streamed as live previews (0-3); each costs extra output tokens.
    0 = no streaming, one response at the end."""
    mask: str | None = None
    """Path of a PNG mask for edits (alpha 0 = change here), applied to the first reference
    image; same size as it, under 4 MB."""

    def checked_model(self) -> str:
        """The image model these fields are checked against (each type says where it is)."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        self.check_image_fields()
        after = getattr(super(), "__post_init__", None)  # ApiOptions' base_url check
        if after is not None:
            after()

    def check_image_fields(self) -> None:
        """ValueError (a `field_error` naming the option to change) for a value the chosen
        model refuses; run by `__post_init__`."""
        refused = refused_option(
            model_family(self.checked_model()),
            quality=self.quality,
            input_fidelity=self.input_fidelity,
            background=self.background,
            output_format=self.output_format,
            editing=True,  # whether there is anything to edit is known per request only
        )
        if refused:
            raise field_error(*refused)


def normalize_request(
    name: str, fields: ImageFields, request: GenerationRequest
) -> tuple[GenerationRequest, ModelFamily | None]:
    """The request with its size mapped to one the model makes, and the model's family.

    Raises ImagenError(BAD_REQUEST) naming what is allowed: a size the model cannot make, or a
    mask / input_fidelity without a reference image to edit. `name` is the instance name.
    """
    family = model_family(fields.checked_model())
    editing = bool(request.references)
    refused = refused_option(
        family,
        quality=fields.quality,
        input_fidelity=fields.input_fidelity,
        background=fields.background,
        output_format=fields.output_format,
        editing=editing,
    )
    problem = refused[1] if refused else None
    if problem is None and fields.mask and not editing:
        problem = "a mask applies to edits: add a reference image (--ref) or unset mask"
    if problem:
        raise ImagenError(ErrorCode.BAD_REQUEST, f"{name}: {problem}")
    try:
        width, height = normalize_size(family, request.width, request.height)
    except ImagenError as exc:
        raise ImagenError(ErrorCode.BAD_REQUEST, f"{name}: {exc.detail}") from None
    return request.replace(width=width, height=height), family


def image_fields(fields: ImageFields, family: ModelFamily | None, editing: bool) -> dict[str, Any]:
    """The optional image fields to send: provider defaults are left out, as are the fields
    the retired dall-e models never took (they get `response_format=b64_json` instead)."""
    if family is not None and family.legacy:
        out: dict[str, Any] = {"response_format": "b64_json"}
        if fields.quality != "auto":
            out["quality"] = fields.quality
        return out
    out = {"quality": fields.quality, "output_format": fields.output_format}
    optional = {
        "background": None if fields.background == "auto" else fields.background,
        "output_compression": fields.output_compression,
        "moderation": None if fields.moderation == "auto" else fields.moderation,
        "complexity": fields.complexity,
        "input_fidelity": fields.input_fidelity if editing else None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def mask_path(fields: ImageFields) -> Path | None:
    """The mask file, `~` expanded; None when unset."""
    return Path(fields.mask).expanduser() if fields.mask else None
