"""The pure half of the a1111 adapter: payloads, answers, progress, models, auth, sizes."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from imagen_tui.backends.adapters.a1111_protocol import (
    IMG2IMG_PATH,
    TXT2IMG_PATH,
    basic_auth,
    build_payload,
    decode_image,
    find_model,
    parse_info,
    parse_progress,
    parse_result,
    size_problem,
)
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(buf, "JPEG")
    return buf.getvalue()


FIELDS = {
    "sampler_name": "Euler a",
    "cfg_scale": None,
    "denoising_strength": 0.6,
    "resize_mode": 2,
    "enable_hr": False,
    "hr_scale": None,
}


def test_txt2img_payload_has_the_request_and_leaves_unset_fields_to_the_server() -> None:
    req = GenerationRequest("fox", negative="blur", width=512, height=768, seed=9, steps=25)
    path, body = build_payload(req, FIELDS, task_id="t1", model="sd15")
    assert path == TXT2IMG_PATH
    assert body == {
        "prompt": "fox",
        "negative_prompt": "blur",
        "seed": 9,
        "steps": 25,
        "width": 512,
        "height": 768,
        "batch_size": 1,
        "n_iter": 1,
        "send_images": True,
        "save_images": False,
        "force_task_id": "t1",
        "override_settings": {"sd_model_checkpoint": "sd15"},
        "sampler_name": "Euler a",
        "enable_hr": False,
    }


def test_txt2img_keeps_denoising_strength_for_hires_fix_only() -> None:
    req = GenerationRequest("fox")
    _, body = build_payload(req, {**FIELDS, "enable_hr": True, "hr_scale": 1.5}, task_id="t")
    assert body["denoising_strength"] == 0.6 and body["hr_scale"] == 1.5
    assert "resize_mode" not in body and "steps" not in body and body["seed"] == -1


def test_img2img_payload_carries_the_init_image_and_drops_txt2img_fields() -> None:
    init = png_bytes()
    req = GenerationRequest("fox", seed=3)
    path, body = build_payload(req, {**FIELDS, "enable_hr": True}, task_id="t", init_image=init)
    assert path == IMG2IMG_PATH
    assert base64.b64decode(body["init_images"][0]) == init
    assert body["denoising_strength"] == 0.6 and body["resize_mode"] == 2
    assert "enable_hr" not in body and "override_settings" not in body


def test_result_takes_the_first_image_and_the_real_seed_from_info() -> None:
    image = png_bytes()
    info = json.dumps({"seed": 1234, "all_seeds": [1234], "sd_model_name": "sd15"})
    answer = {"images": [base64.b64encode(image).decode()], "parameters": {}, "info": info}
    result = parse_result(answer, "http://gpu/sdapi/v1/txt2img")
    assert (result.data, result.seed, result.model) == (image, 1234, "sd15")
    assert result.info["all_seeds"] == [1234]


def test_seed_falls_back_to_all_seeds_and_jpeg_with_a_data_prefix_is_accepted() -> None:
    image = jpeg_bytes()
    answer = {
        "images": ["data:image/jpeg;base64," + base64.b64encode(image).decode()],
        "info": {"all_seeds": [77]},
    }
    result = parse_result(answer, "src")
    assert result.data == image and result.seed == 77 and result.model is None


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"images": []}, "answered with no image"),
        ({"detail": "x"}, "answered with no image"),
        ([], "without an images list"),
        ({"images": ["not base64 at all!"]}, "not base64"),
        ({"images": [base64.b64encode(b"<html>oops</html>").decode()]}, "not an image"),
        ({"images": [base64.b64encode(png_bytes()[:-30]).decode()]}, "truncated PNG"),
        ({"images": [base64.b64encode(jpeg_bytes()[:40]).decode()]}, "not an image"),
    ],
)
def test_answers_without_a_whole_image_are_no_image_naming_the_source(
    answer: object, words: str
) -> None:
    with pytest.raises(ImagenError) as info:
        parse_result(answer, "http://gpu/sdapi/v1/txt2img")
    assert info.value.code is ErrorCode.NO_IMAGE
    assert words in info.value.detail and "http://gpu/sdapi/v1/txt2img" in info.value.detail


def test_a_gif_is_not_accepted_as_an_image() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "GIF")
    with pytest.raises(ImagenError) as info:
        decode_image(base64.b64encode(buf.getvalue()).decode(), "src")
    assert "GIF" in info.value.detail


def test_info_is_a_json_string_or_kept_as_text() -> None:
    assert parse_info('{"seed": 1}') == {"seed": 1}
    assert parse_info("Steps: 20") == {"text": "Steps: 20"}
    assert parse_info(None) == {} and parse_info("[1]") == {}


def test_progress_of_a_running_job_with_a_preview() -> None:
    preview = png_bytes()
    body = {
        "progress": 0.51,
        "state": {"job_count": 1, "sampling_step": 10, "sampling_steps": 20},
        "current_image": base64.b64encode(preview).decode(),
        "current_task": "imagen-tui-abc",
    }
    now = parse_progress(body)
    assert (now.fraction, now.busy, now.current_task, now.preview) == (
        0.51, True, "imagen-tui-abc", preview,
    )  # fmt: skip
    assert now.message() == "step 10/20"


def test_progress_when_idle_or_malformed_reads_as_idle() -> None:
    idle = parse_progress({"progress": 0, "state": {"job_count": 0}, "current_image": None})
    assert not idle.busy and idle.preview is None and idle.message() == ""
    assert not idle.interrupted
    assert parse_progress({"state": {"job_count": 0, "interrupted": True}}).interrupted
    assert not parse_progress("nope").busy
    odd = parse_progress({"progress": "x", "state": [], "current_image": "%%%"})
    assert odd.fraction == 0.0 and odd.preview is None and not odd.busy


def test_old_servers_without_current_task_still_read_as_busy() -> None:
    now = parse_progress({"progress": 1.7, "state": {"job_count": -1}})
    assert now.busy and now.current_task is None and now.fraction == 1.0


@pytest.mark.parametrize(
    "wanted",
    ["sd15", "sd15.safetensors", "sd15.safetensors [0123abcd45]", "0123abcd45"],
)
def test_a_checkpoint_is_found_the_ways_a1111_resolves_it(wanted: str) -> None:
    listed = [
        {
            "title": "sd15.safetensors [0123abcd45]",
            "model_name": "sd15",
            "hash": "0123abcd45",
            "filename": "C:\\models\\Stable-diffusion\\sd15.safetensors",
        }
    ]
    assert find_model(wanted, listed)
    assert not find_model("sdxl", listed) and not find_model("sd15", {"detail": "x"})


def test_basic_auth_splits_user_and_password_at_the_first_colon() -> None:
    assert basic_auth("alice:pa:ss") == ("alice", "pa:ss")
    assert basic_auth(None) is None and basic_auth("") is None
    with pytest.raises(ImagenError) as info:
        basic_auth("secretwithoutcolon")
    assert "secretwithoutcolon" not in info.value.message


def test_sizes_must_be_multiples_of_eight_and_the_nearest_is_named() -> None:
    assert size_problem(512, 768) is None
    assert size_problem(100, 60) == ("sizes must be multiples of 8; allowed near 100x60: 104x64")
    assert "8x8" in (size_problem(3, 3) or "")
