"""Pure helpers shared by the cloud adapters: aspect ratios, log progress, outputs, redaction."""

from __future__ import annotations

import base64

import pytest

from imagen_tui.backends.adapters.aspect import offered_ratio, ratio_value
from imagen_tui.backends.adapters.log_progress import reported_seed, tqdm_progress
from imagen_tui.backends.adapters.outputs import check_image, decode_data_uri, image_problem
from imagen_tui.backends.adapters.redact import redact, redacting
from imagen_tui.backends.adapters.retired import retired_note
from imagen_tui.backends.errors import ErrorCode, ImagenError
from tests.fakes.images import image_bytes

RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "9:16")


@pytest.mark.parametrize(
    ("size", "ratio"),
    [((1024, 1024), "1:1"), ((1000, 1040), "1:1"), ((1920, 1080), "16:9"), ((1080, 1920), "9:16"),
     ((2560, 1080), "21:9"), ((1200, 800), "3:2"), ((832, 1216), "2:3")],
)  # fmt: skip
def test_nearest_ratio_picks_the_closest_offer(size: tuple[int, int], ratio: str) -> None:
    assert offered_ratio(*size, RATIOS) == ratio


def test_nearest_ratio_refuses_a_far_size_naming_the_offers() -> None:
    with pytest.raises(ImagenError) as info:
        offered_ratio(4096, 64, RATIOS)
    assert info.value.code == ErrorCode.BAD_REQUEST
    assert "4096x64" in info.value.detail and "allowed: 1:1, 16:9, 21:9, 3:2, 2:3, 9:16" in (
        info.value.detail
    )


@pytest.mark.parametrize("bad", ["16x9", "0:1", "a:b", "1:inf"])
def test_ratio_value_rejects_non_ratios(bad: str) -> None:
    with pytest.raises(ValueError):
        ratio_value(bad)


def test_tqdm_progress_reads_the_last_bar() -> None:
    logs = (
        "Using seed: 12\n  0%|          | 0/4 [00:00<?, ?it/s]\n 75%|███████▌  | 3/4 [00:02<00:00]"
    )
    assert tqdm_progress(logs) == (0.75, "step 3/4")
    assert tqdm_progress("loading weights") is None and tqdm_progress(None) is None
    assert tqdm_progress("100%|#| 0/0") is None


def test_reported_seed() -> None:
    assert reported_seed("Using seed: 1234\n") == 1234
    assert reported_seed("random seed=77") == 77
    assert reported_seed("no seed here") is None


def test_decode_data_uri_base64_and_percent_forms() -> None:
    png = image_bytes(8, 8, "PNG")
    uri = "data:application/octet-stream;base64," + base64.b64encode(png).decode()
    assert decode_data_uri(uri) == png
    assert decode_data_uri("data:text/plain,a%20b") == b"a b"


@pytest.mark.parametrize("uri", ["data:image/png;base64,@@@", "data:image/png;base64,", "nope"])
def test_decode_data_uri_refuses_malformed_ones(uri: str) -> None:
    with pytest.raises(ImagenError) as info:
        decode_data_uri(uri)
    assert info.value.code == ErrorCode.NO_IMAGE


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_whole_images_pass_and_truncated_ones_do_not(fmt: str) -> None:
    data = image_bytes(32, 24, fmt)
    assert image_problem(data) is None
    assert check_image(data, "x") == data
    assert "truncated" in (image_problem(data[: len(data) // 2]) or "")


def test_non_images_are_named_as_such() -> None:
    assert "not an image" in (image_problem(b"<html>502</html>") or "")
    with pytest.raises(ImagenError) as info:
        check_image(b"{}", "output https://cdn/x.png")
    assert info.value.code == ErrorCode.NO_IMAGE and "https://cdn/x.png" in info.value.detail


def test_redact_masks_the_secret_and_keeps_the_error() -> None:
    assert redact("bad token r8_secret!", "r8_secret") == "bad token [redacted]!"
    assert redact("ab cd ab", "ab") == "ab cd ab"  # too short to mask meaningfully
    with pytest.raises(ImagenError) as info, redacting("r8_secret"):
        raise ImagenError(ErrorCode.RATE_LIMITED, "slow r8_secret", retry_after=3, status=429)
    err = info.value
    assert "r8_secret" not in err.message and err.code == ErrorCode.RATE_LIMITED
    assert (err.retry_after, err.status) == (3, 429)


@pytest.mark.parametrize(
    ("model", "upstream"),
    [("google/imagen-4", "Imagen"), ("fal-ai/imagen4/preview", "Imagen"),
     ("openai/gpt-image-1", "gpt-image-1"), ("fal-ai/gpt-image-1/text-to-image", "gpt-image-1"),
     ("openai/dall-e-3", "DALL-E"), ("google/gemini-3-pro-image-preview", "preview")],
)  # fmt: skip
def test_retired_upstream_models_are_noted(model: str, upstream: str) -> None:
    note = retired_note(model)
    assert note is not None and upstream in note


@pytest.mark.parametrize(
    "model",
    ["black-forest-labs/flux-schnell", "fal-ai/flux/dev", "openai/gpt-image-1.5",
     "openai/gpt-image-1-mini", "google/gemini-3-pro-image", "openai/gpt-image-2"],
)  # fmt: skip
def test_current_models_get_no_note(model: str) -> None:
    assert retired_note(model) is None
