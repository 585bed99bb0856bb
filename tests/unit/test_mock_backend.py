"""The offline mock backend: deterministic, pleasant pictures and every simulated path."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from pydantic import ValidationError

from imagen_tui.backends.adapters.mock import (
    MockBackend,
    MockOptions,
    encode_png,
    render,
)
from imagen_tui.backends.base import Capability, JobContext
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest, ImageResult


def mean_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0..255."""
    stat = ImageStat.Stat(ImageChops.difference(a, b))
    return sum(stat.mean) / len(stat.mean)


def backend(**options: Any) -> MockBackend:
    return MockBackend("mock", MockBackend.parse_options({"latency_s": 0, **options}))


def run(
    be: MockBackend, request: GenerationRequest, progress: list[tuple[float, str]] | None = None
) -> ImageResult:
    def on_progress(fraction: float, message: str) -> None:
        if progress is not None:
            progress.append((fraction, message))

    ctx = JobContext("t", be.options, on_progress=on_progress)
    return asyncio.run(be.generate(request, ctx))


def decode(result: ImageResult) -> Image.Image:
    with Image.open(io.BytesIO(result.data)) as im:
        assert im.format == "PNG"
        return im.convert("RGB")


def req(**fields: Any) -> GenerationRequest:
    """The engine settles the seed before an adapter runs; 1 unless a test picks one."""
    base = {"prompt": "a lighthouse", "width": 128, "height": 96, "seed": 1}
    return GenerationRequest(**{**base, **fields})


# --- render -----------------------------------------------------------------------------------


def test_render_is_deterministic() -> None:
    a, b = render("a lighthouse", 42, 160, 120), render("a lighthouse", 42, 160, 120)
    assert a.mode == "RGB"
    assert a.tobytes() == b.tobytes()


def test_render_is_deterministic_across_processes() -> None:
    code = (
        "import hashlib, sys\n"
        "from imagen_tui.backends.adapters.mock import render\n"
        "print(hashlib.sha256(render('a lighthouse', 42, 160, 120).tobytes()).hexdigest())\n"
        "print(sorted(m for m in ('textual', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == hashlib.sha256(render("a lighthouse", 42, 160, 120).tobytes()).hexdigest()
    assert out[1] == "[]", "the mock backend must not import textual or httpx"


@pytest.mark.parametrize(
    ("other_prompt", "other_seed"),
    [("a red bicycle", 42), ("a lighthouse", 43), ("a lighthouse!", 42), ("a lighthouse", 0)],
)
def test_other_prompt_or_seed_looks_different(other_prompt: str, other_seed: int) -> None:
    base = render("a lighthouse", 42, 128, 128)
    assert mean_diff(base, render(other_prompt, other_seed, 128, 128)) > 12


@pytest.mark.parametrize("size", [(64, 64), (64, 4096), (4096, 64), (333, 77), (1000, 1001)])
def test_render_has_exact_size(size: tuple[int, int]) -> None:
    assert render("edge", 1, *size).size == size


def test_same_composition_at_another_size() -> None:
    big = render("a lighthouse", 7, 512, 256)
    small = render("a lighthouse", 7, 128, 64)
    other_seed = render("a lighthouse", 8, 128, 64)
    shrunk = big.resize((128, 64), Image.Resampling.BOX)
    assert mean_diff(shrunk, small) < 2
    assert mean_diff(shrunk, other_seed) > 3 * mean_diff(shrunk, small)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_image_is_smooth_but_not_flat(seed: int) -> None:
    img = render(f"prompt {seed}", seed, 256, 256)
    colours = img.resize((32, 32), Image.Resampling.BOX).getcolors(maxcolors=32 * 32)
    assert colours is not None and len(colours) > 100
    neighbour = mean_diff(img.crop((1, 0, 256, 256)), img.crop((0, 0, 255, 256)))
    assert neighbour < 3  # uniform noise would score ~85
    assert ImageStat.Stat(img).stddev[0] > 5


def test_negative_prompt_changes_palette_deterministically() -> None:
    plain = render("a lighthouse", 42, 128, 128)
    muted = render("a lighthouse", 42, 128, 128, negative="blurry")
    assert muted.tobytes() == render("a lighthouse", 42, 128, 128, negative="blurry").tobytes()
    assert 0 < mean_diff(plain, muted) < 12  # subtle: the same picture, slightly muted
    sat = ImageStat.Stat(plain.convert("HSV")).mean[1]
    assert ImageStat.Stat(muted.convert("HSV")).mean[1] < sat


def test_encode_png_round_trips() -> None:
    img = render("a lighthouse", 42, 96, 64)
    with Image.open(io.BytesIO(encode_png(img))) as decoded:
        assert decoded.format == "PNG"
        assert decoded.convert("RGB").tobytes() == img.tobytes()


# --- options ----------------------------------------------------------------------------------


def test_option_defaults() -> None:
    opts = MockOptions()
    assert (opts.max_concurrent, opts.latency_s, opts.steps) == (4, 0.0, 8)
    assert opts.fail_with is None and opts.fail_after_steps == 0 and opts.retry_after_s is None


@pytest.mark.parametrize(
    "raw",
    [
        {"bogus": 1},
        {"latency_s": -1},
        {"latency_s": 601},
        {"steps": 0},
        {"steps": 501},
        {"fail_with": "not_a_code"},
        {"fail_after_steps": -1},
        {"max_concurrent": 0},
        {"retry_after_s": -2},
        {"steps": "many"},
    ],
)
def test_options_reject_bad_values(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MockBackend.parse_options(raw)


def test_fail_with_parses_a_taxonomy_code() -> None:
    opts = MockBackend.parse_options({"fail_with": "rate_limited", "retry_after_s": 2})
    assert isinstance(opts, MockOptions) and opts.fail_with is ErrorCode.RATE_LIMITED


# --- generate ---------------------------------------------------------------------------------


def test_backend_declaration() -> None:
    assert MockBackend.type_name == "mock" and MockBackend.description
    assert MockBackend.Options is MockOptions
    assert {
        Capability.REFERENCES,
        Capability.PROGRESS,
        Capability.CANCEL,
    } <= MockBackend.capabilities
    be = backend()
    assert be.estimate_cost(req(), be.options) == 0.0


def test_generate_returns_the_rendered_png() -> None:
    result = run(backend(), req(seed=5, negative="fog"))
    assert (result.mime_type, result.model, result.cost_usd, result.seed) == (
        "image/png",
        "mock-v1",
        0.0,
        5,
    )
    assert result.metadata == {"steps": 8}
    expected = render("a lighthouse", 5, 128, 96, negative="fog")
    assert decode(result).tobytes() == expected.tobytes()


def test_progress_increases_to_one() -> None:
    progress: list[tuple[float, str]] = []
    result = run(backend(steps=5, latency_s=0.01), req(), progress)
    fractions = [f for f, _ in progress]
    assert fractions == sorted(set(fractions)) and len(fractions) == 5
    assert fractions[-1] == 1.0
    assert progress[0][1] == "step 1/5"
    assert result.metadata == {"steps": 5}


def test_request_steps_override_options() -> None:
    progress: list[tuple[float, str]] = []
    result = run(backend(steps=5), req(steps=3), progress)
    assert [m for _, m in progress] == ["step 1/3", "step 2/3", "step 3/3"]
    assert result.metadata == {"steps": 3}


def test_the_seed_given_is_the_seed_used_and_reproduces() -> None:
    first = run(backend(), req(seed=123))
    assert first.seed == 123
    again = run(backend(), req(seed=123))
    assert decode(again).tobytes() == decode(first).tobytes()
    assert decode(first).tobytes() == render("a lighthouse", 123, 128, 96).tobytes()


def test_a_request_without_a_seed_is_a_caller_bug_not_a_random_image() -> None:
    with pytest.raises(ImagenError) as info:
        run(backend(), req(seed=None))
    assert info.value.code is ErrorCode.INTERNAL


@pytest.mark.parametrize("code", [ErrorCode.SAFETY_BLOCKED, ErrorCode.UNAVAILABLE])
def test_fail_with_raises_that_code(code: ErrorCode) -> None:
    progress: list[tuple[float, str]] = []
    with pytest.raises(ImagenError) as info:
        run(backend(fail_with=code.value, retry_after_s=9), req(), progress)
    assert info.value.code is code
    assert "fail_with" in info.value.message
    assert info.value.retry_after is None  # only rate_limited carries it
    assert progress == []


def test_rate_limited_failure_carries_retry_after() -> None:
    with pytest.raises(ImagenError) as info:
        run(backend(fail_with="rate_limited", retry_after_s=1.5), req())
    assert info.value.code is ErrorCode.RATE_LIMITED and info.value.retryable
    assert info.value.retry_after == 1.5


def test_fail_after_steps() -> None:
    progress: list[tuple[float, str]] = []
    with pytest.raises(ImagenError):
        run(backend(fail_with="timeout", fail_after_steps=2, steps=5), req(), progress)
    assert [f for f, _ in progress] == [0.2, 0.4]


def test_cancellation_propagates() -> None:
    progress: list[tuple[float, str]] = []

    async def main() -> None:
        be = backend(latency_s=30, steps=100)
        ctx = JobContext("t", be.options, on_progress=lambda f, m: progress.append((f, m)))
        task = asyncio.create_task(be.generate(req(), ctx))
        while not progress:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(main(), timeout=5))
    assert len(progress) < 100


# --- references -------------------------------------------------------------------------------


def make_reference(path: Path) -> Path:
    img = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(img).ellipse((80, 30, 220, 170), fill="black")
    img.save(path)
    return path


def test_reference_changes_the_image(tmp_path: Path) -> None:
    ref = make_reference(tmp_path / "ref.jpg")
    plain = decode(run(backend(), req(seed=3)))
    first = decode(run(backend(), req(seed=3, references=(ref,))))
    again = decode(run(backend(), req(seed=3, references=(ref,))))
    assert first.tobytes() == again.tobytes()
    assert mean_diff(plain, first) > 5


def test_palette_reference_with_transparency_is_accepted(tmp_path: Path) -> None:
    ref = tmp_path / "ref.png"
    img = Image.new("P", (40, 30))
    img.info["transparency"] = bytes(256)
    img.save(ref)
    assert run(backend(), req(seed=3, references=(ref,))).seed == 3


@pytest.mark.parametrize("content", [None, b"not an image at all"])
def test_unreadable_reference_is_a_bad_request(tmp_path: Path, content: bytes | None) -> None:
    ref = tmp_path / "missing.png"
    if content is not None:
        ref.write_bytes(content)
    with pytest.raises(ImagenError) as info:
        run(backend(), req(references=(ref,)))
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert "reference missing.png" in info.value.message
