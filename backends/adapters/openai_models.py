"""What each OpenAI image model accepts: sizes, qualities, input fidelity, retirement. Pure.

Facts from `shared/reference/providers.md` §1 (openai-python 3.57.0 `types/image_model.py`,
`image_generate_params.py`, `image_edit_params.py`; developers.openai.com model pages), checked
2026-11-29. `model` stays a free string: a name we do not know (a gateway's alias) is sent as is,
with its size unchecked; a retired one is warned about, never refused (gateways keep old names).

    model_family(name) -> ModelFamily | None      longest known prefix, snapshots included
    normalize_size(family, width, height) -> (w, h)   the size the model makes, or ImagenError
    refused_option(family, quality=, input_fidelity=, background=, output_format=, editing=)
                                                   (option, one line) when the model refuses a value
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ErrorCode, ImagenError

PRESET_SIZES = ("1024x1024", "1536x1024", "1024x1536")
"""The fixed sizes of the gpt-image models without free sizes (and `auto`)."""
DALLE3_SIZES = ("1024x1024", "1792x1024", "1024x1792")
DALLE2_SIZES = ("256x256", "512x512", "1024x1024")
BASE_QUALITIES = frozenset({"auto", "low", "medium", "high"})

FREE_SIZE_STEP = 16
"""gpt-image-2 and 2.5: both sides divisible by 16 (providers.md §1)."""
FREE_SIZE_MAX_RATIO = 3.0
FREE_SIZE_MAX_EDGE = 3840
FREE_SIZE_MAX_PIXELS = 3840 * 2160
"""`max 3840x2160` (providers.md §1): the long edge and the pixel budget."""


@dataclass(frozen=True, slots=True)
class ModelFamily:
    """One model (and its dated snapshots) as far as request checking goes.

    `presets` are "WxH" sizes (empty with `free_size`); `qualities` the accepted `quality`
    values; `fidelities` the accepted `input_fidelity` values (empty: omit it); `legacy` marks
    the dall-e models (`response_format=b64_json`, no background/output_format fields);
    `retired` is a note like "shut down 2026-10-23", or "" while the model is served.
    """

    name: str
    free_size: bool = False
    presets: tuple[str, ...] = PRESET_SIZES
    qualities: frozenset[str] = BASE_QUALITIES
    fidelities: frozenset[str] = frozenset()
    transparent: bool = True
    legacy: bool = False
    retired: str = ""


_FAMILIES: tuple[ModelFamily, ...] = (
    ModelFamily("gpt-image-2.6-sunburst"),
    ModelFamily("gpt-image-2.6-flare"),
    ModelFamily(
        "gpt-image-2.5-sunburst",
        free_size=True,
        presets=(),
        qualities=BASE_QUALITIES | {"xhigh", "max"},
    ),
    ModelFamily(
        "gpt-image-2.5-flare",
        free_size=True,
        presets=(),
        qualities=BASE_QUALITIES | {"xhigh", "max"},
    ),
    ModelFamily("gpt-image-2", free_size=True, presets=()),
    ModelFamily("gpt-image-1.5", fidelities=frozenset({"high", "low"})),
    ModelFamily(
        "gpt-image-1-mini", fidelities=frozenset({"low"}), retired="deprecated on its model page"
    ),
    ModelFamily(
        "gpt-image-1", fidelities=frozenset({"high", "low"}), retired="shut down 2026-10-23"
    ),
    ModelFamily("chatgpt-image-latest"),
    ModelFamily(
        "dall-e-3",
        presets=DALLE3_SIZES,
        qualities=frozenset({"auto", "standard", "hd"}),
        transparent=False,
        legacy=True,
        retired="retired 2026-05-12",
    ),
    ModelFamily(
        "dall-e-2",
        presets=DALLE2_SIZES,
        qualities=frozenset({"auto", "standard"}),
        transparent=False,
        legacy=True,
        retired="retired 2026-05-12",
    ),
)


def model_family(name: str) -> ModelFamily | None:
    """The family of `name` by longest matching prefix ("gpt-image-2-2026-04-21" is
    gpt-image-2, "gpt-image-2.5-flare-2026-09-08" is gpt-image-2.5-flare); None if unknown."""
    best: ModelFamily | None = None
    for family in _FAMILIES:
        if _is_prefix(family.name, name) and (best is None or len(family.name) > len(best.name)):
            best = family
    return best


def _is_prefix(family: str, name: str) -> bool:
    """`name` is `family` or a dated snapshot of it (`family-YYYY-MM-DD`)."""
    if name == family:
        return True
    rest = name.removeprefix(family + "-")
    return rest != name and rest[:4].isdigit()


def normalize_size(family: ModelFamily | None, width: int, height: int) -> tuple[int, int]:
    """The size `family` makes for a `width`×`height` (pixels) request.

    Free-size models: both sides rounded to a multiple of 16, then checked against the 3:1
    ratio, the 3840 px edge and the 3840×2160 pixel budget. Preset models: an exact preset, or
    the preset of exactly the same aspect ratio (512x512 -> 1024x1024). Unknown models: as asked.
    Raises ImagenError(BAD_REQUEST) naming what the model makes.
    """
    if family is None:
        return width, height
    if family.free_size:
        return _free_size(family, width, height)
    for preset in family.presets:
        w, h = (int(v) for v in preset.split("x"))
        if (w, h) == (width, height) or w * height == h * width:
            return w, h
    allowed = ", ".join(family.presets)
    raise ImagenError(
        ErrorCode.BAD_REQUEST, f"{family.name} cannot make {width}x{height}; allowed: {allowed}"
    )


def _free_size(family: ModelFamily, width: int, height: int) -> tuple[int, int]:
    w, h = _to_step(width), _to_step(height)
    rules = (
        f"allowed: any WxH with sides divisible by {FREE_SIZE_STEP}, ratio at most 3:1, "
        f"long edge at most {FREE_SIZE_MAX_EDGE}, at most 3840x2160 pixels in all"
    )
    bad = (
        max(w, h) / min(w, h) > FREE_SIZE_MAX_RATIO
        or max(w, h) > FREE_SIZE_MAX_EDGE
        or w * h > FREE_SIZE_MAX_PIXELS
    )
    if bad:
        raise ImagenError(
            ErrorCode.BAD_REQUEST, f"{family.name} cannot make {width}x{height}; {rules}"
        )
    return w, h


def _to_step(side: int) -> int:
    """The nearest multiple of FREE_SIZE_STEP, halves rounded up (1000 -> 1008)."""
    return max(FREE_SIZE_STEP, (side + FREE_SIZE_STEP // 2) // FREE_SIZE_STEP * FREE_SIZE_STEP)


def refused_option(
    family: ModelFamily | None,
    *,
    quality: str,
    input_fidelity: str | None,
    background: str,
    output_format: str,
    editing: bool,
) -> tuple[str, str] | None:
    """(the option to change, one line naming the value the model refuses and what it
    accepts), else None; the option lets a config error name its key.

    Unknown models accept everything (the provider will judge). `editing` is True when the
    request carries reference images (`input_fidelity` only applies to edits).
    """
    if input_fidelity is not None and not editing:
        return (
            "input_fidelity",
            "input_fidelity applies to edits only: add a reference image or unset it",
        )
    if family is None:
        return _format_problem(background, output_format)
    if quality not in family.qualities:
        allowed = ", ".join(sorted(family.qualities))
        return "quality", f"{family.name} takes no quality={quality}; allowed: {allowed}"
    if input_fidelity is not None and input_fidelity not in family.fidelities:
        allowed = ", ".join(sorted(family.fidelities)) or "none (leave input_fidelity unset)"
        return (
            "input_fidelity",
            f"{family.name} takes no input_fidelity={input_fidelity}; allowed: {allowed}",
        )
    if background == "transparent" and not family.transparent:
        return "background", f"{family.name} cannot make a transparent background"
    return _format_problem(background, output_format)


def _format_problem(background: str, output_format: str) -> tuple[str, str] | None:
    if background == "transparent" and output_format == "jpeg":
        return "output_format", "a transparent background needs output_format png or webp"
    return None
