"""The `mock` backend: offline, free and deterministic, the embedded default.

`render()` turns (prompt, seed, size) into a calm abstract picture: a palette from one colour
scheme, a soft blurred background, hills and a few translucent shapes. Everything is laid out in
coordinates relative to the size, so one prompt and seed look the same at every size.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image, ImageDraw, ImageFilter

from ..base import Backend, BackendOptions, Capability, JobContext
from ..errors import ErrorCode, ImagenError
from ..models import GenerationRequest, ImageResult
from .mock_options import MockOptions

RGB = tuple[int, int, int]

# Hue offsets of each colour scheme, as fractions of the colour wheel.
SCHEMES: tuple[tuple[float, ...], ...] = (
    (0.0, 0.06, -0.06, 0.12, -0.12),  # analogous
    (0.0, 0.5, 0.05, 0.55, -0.05),  # complementary
    (0.0, 1 / 3, 2 / 3, 0.04),  # triadic
    (0.0, 0.42, 0.58, 0.03),  # split-complementary
)
BACKGROUND_SIDE = 96  # long side of the blurred background, before it is scaled up
SUPERSAMPLE_MAX_PIXELS = 200_000  # above (448², 512² and up), shapes are drawn without 2x AA:
# at 512² the difference is invisible and the 2x canvas tripled the render (7 vs 25 ms)
PNG_COMPRESS_LEVEL = 1  # 512²: 6 ms / 54 KiB, vs 8 ms / 48 KiB at 3 and 14 ms / 38 KiB at 6


@dataclass(frozen=True)
class _Palette:
    corners: tuple[RGB, RGB, RGB, RGB]  # background: top-left, top-right, bottom-left, bottom-right
    accents: tuple[RGB, ...]
    glow: RGB
    dark: bool


def _rng(text: str, seed: int) -> random.Random:
    """A generator seeded stably across processes (unlike `hash()`)."""
    digest = hashlib.blake2b(f"{text}\0{seed}".encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(1.0, max(0.0, s)), min(1.0, max(0.0, v)))
    return round(r * 255), round(g * 255), round(b * 255)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return cast(RGB, tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True)))


def _palette(rng: random.Random, negative: str) -> _Palette:
    """Pick a scheme, base hue and mood; a negative prompt mutes the colours a little."""
    offsets = rng.choice(SCHEMES)
    h0, sat, dark = rng.random(), rng.uniform(0.35, 0.75), rng.random() < 0.3
    if negative:  # its own hash, so it consumes nothing from `rng`
        sat *= 0.7 + 0.15 * _rng(negative, 0).random()
    hues = [h0 + o for o in offsets]
    if dark:
        light = [rng.uniform(0.12, 0.22), rng.uniform(0.3, 0.45)]
    else:
        light = [rng.uniform(0.85, 0.97), rng.uniform(0.62, 0.8)]
    corners = (
        _hsv(hues[0], sat * 0.45, light[0]),
        _hsv(hues[1], sat * 0.4, light[0] * 0.95),
        _hsv(hues[-1], sat * 0.6, light[1]),
        _hsv(hues[0], sat * 0.7, light[1] * 0.9),
    )
    accents = tuple(
        _hsv(h + rng.uniform(-0.02, 0.02), sat * rng.uniform(0.9, 1.3), rng.uniform(0.45, 0.95))
        for h in hues
    )
    glow = _hsv(hues[1], sat * 0.5, 1.0)
    return _Palette(corners, accents, glow, dark)


def _background(
    rng: random.Random, pal: _Palette, size: tuple[int, int], reference: Image.Image | None
) -> Image.Image:
    """A small, soft gradient with glowing orbs (and the tinted reference), to be scaled up."""
    bg = Image.new("RGB", (2, 2))
    bg.putdata(pal.corners)
    bg = bg.resize(size, Image.Resampling.BICUBIC)
    w, h = size
    draw = ImageDraw.Draw(bg, "RGBA")
    for _ in range(rng.randint(2, 4)):
        cx, cy, r = rng.random() * w, rng.uniform(0.0, 0.7) * h, rng.uniform(0.1, 0.3) * max(w, h)
        colour = pal.glow if rng.random() < 0.5 else rng.choice(pal.accents)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, rng.randint(60, 130)))
    bg = bg.filter(ImageFilter.GaussianBlur(max(w, h) * 0.08))
    if reference is not None:
        shadow, light = _mix(pal.corners[3], (0, 0, 0), 0.5), _mix(pal.glow, (255, 255, 255), 0.3)
        from PIL import ImageOps  # only with a reference image

        tinted = ImageOps.colorize(ImageOps.fit(reference, size).convert("L"), shadow, light)
        bg = Image.blend(bg, tinted.filter(ImageFilter.GaussianBlur(0.8)), 0.6)
    return bg


def _hill_points(rng: random.Random, depth: int, w: int, h: int) -> list[tuple[float, float]]:
    base = 0.58 + 0.12 * depth + rng.uniform(-0.04, 0.04)
    waves = [
        (rng.uniform(0.5, 3.0), rng.random() * math.tau, rng.uniform(0.02, 0.06)) for _ in range(2)
    ]
    n = max(16, min(160, w // 6))  # a function of size only: the rng sequence must not change
    points = []
    for i in range(n + 1):
        x = i / n
        y = base + sum(a * math.sin(f * math.tau * x + p) for f, p, a in waves)
        points.append((x * w, y * h))
    return [(0.0, float(h)), *points, (float(w), float(h))]


def _draw_hills(
    draw: ImageDraw.ImageDraw, rng: random.Random, pal: _Palette, w: int, h: int
) -> None:
    """Two or three ridges, paler toward the back like distant air."""
    layers = rng.randint(2, 3)
    for depth in range(layers):
        colour = rng.choice(pal.accents)
        haze = (layers - 1 - depth) / layers * 0.55
        shade = 0.55 if pal.dark else 0.8
        fill = _mix(_mix(colour, (0, 0, 0), (1 - shade) * depth / layers), pal.corners[2], haze)
        draw.polygon(_hill_points(rng, depth, w, h), fill=(*fill, 235))


def _draw_shapes(
    draw: ImageDraw.ImageDraw, rng: random.Random, pal: _Palette, w: int, h: int, count: int
) -> None:
    """Translucent circles, rings, polygons and lines; sizes follow the short side."""
    unit = min(w, h)
    for _ in range(count):
        kind = rng.choice(("circle", "circle", "ring", "polygon", "line"))
        cx, cy = rng.random() * w, rng.uniform(0.08, 0.9) * h
        r = rng.uniform(0.04, 0.16) * unit
        fill = (*rng.choice(pal.accents), rng.randint(110, 210))
        angle, sides = rng.random() * 360, rng.randint(3, 6)
        end = (cx + rng.uniform(-0.4, 0.4) * w, cy + rng.uniform(-0.3, 0.3) * h)
        if kind == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        elif kind == "ring":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=max(1, round(r / 6)))
        elif kind == "polygon":
            draw.regular_polygon((cx, cy, r), sides, rotation=angle, fill=fill)
        else:
            draw.line(((cx, cy), end), fill=fill, width=max(1, round(unit * 0.012)))


def render(
    prompt: str,
    seed: int,
    width: int,
    height: int,
    *,
    negative: str = "",
    reference: Image.Image | None = None,
) -> Image.Image:
    """A deterministic RGB picture of exactly `width`×`height` for this prompt and seed."""
    rng = _rng(prompt, seed)
    pal = _palette(rng, negative)
    scale = BACKGROUND_SIDE / max(width, height)
    small = (max(4, round(width * scale)), max(4, round(height * scale)))
    ss = 2 if width * height <= SUPERSAMPLE_MAX_PIXELS else 1  # cheap antialiasing
    w, h = width * ss, height * ss
    canvas = _background(rng, pal, small, reference).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(canvas, "RGBA")
    _draw_shapes(draw, rng, pal, w, h, rng.randint(2, 4))
    _draw_hills(draw, rng, pal, w, h)
    _draw_shapes(draw, rng, pal, w, h, rng.randint(1, 3))
    return canvas.reduce(ss) if ss > 1 else canvas


class _PngBuffer(io.BytesIO):
    """An in-memory file Pillow takes for a .png by its name. Given a format instead, Pillow
    13 first loads five format plugins (JPEG's imports subprocess): ~15 ms of a `--once`."""

    name = "image.png"


def encode_png(img: Image.Image) -> bytes:
    """PNG bytes, compressed for speed rather than size."""
    buf = _PngBuffer()
    img.save(buf, compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def load_reference(path: Path) -> Image.Image:
    """A small RGB thumbnail of a reference image; BAD_REQUEST when it cannot be read."""
    try:
        with Image.open(path) as im:
            im.thumbnail((256, 256))  # uses JPEG draft mode: cheap even for huge photos
            # P with transparency warns when converted straight to RGB
            return (im.convert("RGBA") if im.mode == "P" else im).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImagenError(
            ErrorCode.BAD_REQUEST, f"reference {Path(path).name} cannot be read: {exc}"
        ) from None


def _render_png(request: GenerationRequest, seed: int, reference: Image.Image | None) -> bytes:
    img = render(
        request.prompt,
        seed,
        request.width,
        request.height,
        negative=request.negative,
        reference=reference,
    )
    return encode_png(img)


class MockBackend(Backend):
    """Deterministic abstract pictures from prompt and seed, made locally."""

    type_name = "mock"
    description = "Offline and free: calm abstract pictures from prompt and seed, no key needed."
    Options = MockOptions
    capabilities = frozenset(
        {
            Capability.TXT2IMG,
            Capability.NEGATIVE,
            Capability.SEED,
            Capability.STEPS,
            Capability.PROGRESS,
            Capability.CANCEL,
            Capability.REFERENCES,
        }
    )

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        return 0.0

    @staticmethod
    def _failure(opts: MockOptions) -> ImagenError:
        code = cast(ErrorCode, opts.fail_with)
        retry_after = opts.retry_after_s if code is ErrorCode.RATE_LIMITED else None
        detail = f"mock backend configured with fail_with={code.value}"
        return ImagenError(code, detail, retry_after=retry_after)

    def runs_inline(self, request: GenerationRequest, options: BackendOptions) -> bool:
        """Inline when there is nothing to simulate: no latency and no failure."""
        opts = cast(MockOptions, options)
        return opts.latency_s == 0 and opts.fail_with is None

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Simulate the steps, then render off the event loop so big sizes block nobody.

        The engine resolves the seed before queueing (SEED capability); a request without one
        here is a bug in the caller.
        """
        import asyncio  # here, not at the top: an inline job never starts a loop

        opts = cast(MockOptions, ctx.options)
        seed, steps = self._seed_and_steps(request, opts)
        reference = None
        if request.references:
            reference = await asyncio.to_thread(load_reference, request.references[0])
        for i in range(steps):
            if opts.fail_with is not None and i >= opts.fail_after_steps:
                raise self._failure(opts)
            await asyncio.sleep(opts.latency_s / steps)  # sleep(0) still yields to other jobs
            ctx.progress((i + 1) / steps, f"step {i + 1}/{steps}")
        if opts.fail_with is not None:
            raise self._failure(opts)
        data = await asyncio.to_thread(_render_png, request, seed, reference)
        return _result(data, seed, steps)

    def generate_inline(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """The same image as `generate`, made in this thread (see `runs_inline`)."""
        seed, steps = self._seed_and_steps(request, cast(MockOptions, ctx.options))
        reference = load_reference(request.references[0]) if request.references else None
        for i in range(steps):
            ctx.progress((i + 1) / steps, f"step {i + 1}/{steps}")
        return _result(_render_png(request, seed, reference), seed, steps)

    @staticmethod
    def _seed_and_steps(request: GenerationRequest, opts: MockOptions) -> tuple[int, int]:
        if request.seed is None:
            raise ImagenError(ErrorCode.INTERNAL, "mock was given no seed")
        return request.seed, request.steps or opts.steps


def _result(data: bytes, seed: int, steps: int) -> ImageResult:
    return ImageResult(
        data=data,
        mime_type="image/png",
        seed=seed,
        cost_usd=0.0,
        model="mock-v1",
        metadata={"steps": steps},
    )
