"""A1111 infotext: parsing the shapes tools really write, and our writer round-tripping."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imagen_tui.backends.interop import Lora, read_recipe
from imagen_tui.backends.interop.a1111 import (
    format_infotext,
    infotext_fields,
    parse_infotext,
    parse_settings,
    prompt_loras,
)
from imagen_tui.backends.interop.pngtext import read_png_text
from imagen_tui.backends.store.pngmeta import a1111_parameters, embed

from .conftest import encoded, png_with

SETTINGS = "Steps: 28, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 512x768"


def test_full_real_world_infotext() -> None:
    text = (
        "masterpiece, 1girl, (smile:1.2), <lora:add_detail:0.8>\nsecond line\n"
        "Negative prompt: lowres, (bad anatomy:1.4)\n"
        "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, "
        'Size: 512x768, Model hash: 9aba26abdf, Model: anything-v3, Lora hashes: "x: 1, y: 2", '
        "Version: v1.6.0"
    )
    got = infotext_fields(text)
    assert got["prompt"] == "masterpiece, 1girl, (smile:1.2), <lora:add_detail:0.8>\nsecond line"
    assert got["negative"] == "lowres, (bad anatomy:1.4)"
    assert (got["steps"], got["seed"], got["cfg"]) == ("28", "1234", "7")
    assert (got["sampler"], got["scheduler"]) == ("DPM++ 2M", "Karras")
    assert (got["model"], got["model_hash"]) == ("anything-v3", "9aba26abdf")
    assert got["extra"] == {"Size": "512x768", "Lora hashes": "x: 1, y: 2", "Version": "v1.6.0"}
    assert got["loras"] == [Lora("add_detail", 0.8)]


def test_weighted_tokens_and_lora_tags_stay_prompt_text() -> None:
    text = "(word:1.2), (other:0.8), (third:1.1), <lora:a:1>, <lyco:b:0.5:0.3>"
    info = parse_infotext(f"{text}\n{SETTINGS}")
    assert info.prompt == text and info.settings["Seed"] == "1234"
    assert parse_infotext(text).prompt == text  # no settings line: all prompt
    assert prompt_loras(text) == [Lora("a", 1.0), Lora("b", 0.5)]


def test_negative_prompt_as_the_last_line() -> None:
    info = parse_infotext("a cat\nNegative prompt: dog, (ugly:1.3)")
    assert (info.prompt, info.negative, info.settings) == ("a cat", "dog, (ugly:1.3)", {})


def test_multiline_negative_prompt() -> None:
    info = parse_infotext(f"a cat\nNegative prompt: dog\nsecond: neg line\n{SETTINGS}")
    assert info.negative == "dog\nsecond: neg line" and info.settings["Steps"] == "28"


def test_quoted_values_with_commas_colons_and_escapes() -> None:
    line = 'Steps: 5, Styles: "a, b: c", Note: "say \\"hi\\"", Seed: 9'
    assert parse_settings(line) == [
        ("Steps", "5"),
        ("Styles", "a, b: c"),
        ("Note", 'say "hi"'),
        ("Seed", "9"),
    ]


def test_unquoted_json_values() -> None:
    line = (
        'Steps: 20, Civitai resources: [{"type":"checkpoint","name":"a, b"},{"w":1}], '
        'Civitai metadata: {"remixOfId": 5, "x": [1, 2]}, Seed: 3'
    )
    pairs = dict(parse_settings(line) or [])
    assert pairs["Civitai resources"] == '[{"type":"checkpoint","name":"a, b"},{"w":1}]'
    assert pairs["Civitai metadata"] == '{"remixOfId": 5, "x": [1, 2]}'
    assert pairs["Seed"] == "3"


def test_segment_without_a_key_joins_the_previous_value() -> None:
    assert parse_settings("Steps: 20, Styles: a, b, Seed: 3") == [
        ("Steps", "20"),
        ("Styles", "a, b"),
        ("Seed", "3"),
    ]


def test_crlf_line_endings() -> None:
    text = f"a fox\r\nin snow\r\nNegative prompt: blur\r\n{SETTINGS}\r\nTemplate: x\r\n"
    info = parse_infotext(text)
    assert (info.prompt, info.negative) == ("a fox\nin snow", "blur")
    assert info.settings["Size"] == "512x768" and info.extra == {"Template": "x"}


@pytest.mark.parametrize("prompt", ["portrait: a cat", "Seed: the movie", "a, b: c"])
def test_single_line_prompt_is_not_mistaken_for_settings(prompt: str) -> None:
    assert parse_infotext(prompt).prompt == prompt


def test_single_line_of_settings_only() -> None:
    info = parse_infotext(SETTINGS)
    assert info.prompt == "" and info.settings["Seed"] == "1234"


def test_cjk_prompt() -> None:
    info = parse_infotext(f"白い猫が雪の中を歩く\nNegative prompt: ぼやけた\n{SETTINGS}")
    assert (info.prompt, info.negative) == ("白い猫が雪の中を歩く", "ぼやけた")


def test_lines_after_settings_without_a_key() -> None:
    info = parse_infotext(f"p\n{SETTINGS}\njust some words")
    assert info.extra == {"Trailing text": "just some words"}


def test_format_quotes_like_a1111_and_skips_none() -> None:
    text = format_infotext("a fox", "", {"Steps": 20, "Model": "a,b:c", "Seed": None})
    assert text == 'a fox\nSteps: 20, Model: "a,b:c"'


def test_our_writer_format() -> None:
    meta = {
        "prompt": "a fox",
        "negative": "blurry",
        "steps": 20,
        "seed": 42,
        "width": 64,
        "height": 48,
        "model": "mock-v1",
        "backend": "mock",
        "provider": {"sampler": "mock"},
    }
    assert a1111_parameters(meta) == (
        "a fox\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: mock, Seed: 42, Size: 64x48, Model: mock-v1, Backend: mock"
    )


_line_chars = st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\n\t")
_text = st.text(alphabet=_line_chars, max_size=60)
_cjk = st.text(alphabet=st.sampled_from("白い猫が雪の中を歩く一只橘猫在窗台上睡觉テスト, :()<>\"'"))


@given(
    prompt=_text | _cjk,
    negative=_text | _cjk,
    seed=st.integers(0, 2**70),
    steps=st.integers(1, 500),
    width=st.integers(64, 4096),
    height=st.integers(64, 4096),
    model=st.one_of(st.none(), _text.map(str.strip).filter(bool)),
)
def test_our_writer_round_trips_through_the_reader(
    prompt: str, negative: str, seed: int, steps: int, width: int, height: int, model: str | None
) -> None:
    # A prompt line starting with the marker is ambiguous in A1111's format itself.
    assume(not any(line.startswith("Negative prompt:") for line in prompt.split("\n")))
    meta = {
        "prompt": prompt,
        "negative": negative,
        "seed": seed,
        "steps": steps,
        "model": model,
        "width": width,
        "height": height,
        "backend": "mock",
    }
    got = infotext_fields(a1111_parameters(meta))
    assert got["prompt"] == prompt
    assert got["negative"] == negative
    assert (int(got["seed"]), int(got["steps"])) == (seed, steps)
    assert got["extra"]["Size"] == f"{width}x{height}"
    assert got.get("model") == model


def test_our_png_read_as_a1111_when_only_parameters_remain(tmp_path: Path) -> None:
    meta = {
        "prompt": "狐, in snow: dawn",
        "negative": "blur",
        "seed": 2**65,
        "steps": 9,
        "width": 40,
        "height": 30,
        "model": "m, v1",
        "backend": "mock",
    }
    path = png_with(tmp_path / "x.png", (40, 30), parameters=a1111_parameters(meta))
    got = read_recipe(path)
    assert (got.source, got.prompt, got.negative) == ("a1111", meta["prompt"], "blur")
    assert (got.seed, got.steps, got.model, got.width) == (2**65, 9, "m, v1", 40)


def test_our_embedded_png_reads_as_ours(tmp_path: Path) -> None:
    meta = {
        "prompt": "a fox",
        "negative": "",
        "seed": 3,
        "steps": 4,
        "model": "m",
        "provider": {"sampler": "euler", "cfg_scale": 5},
        "backend": "mock",
    }
    path = tmp_path / "ours.png"
    path.write_bytes(embed(encoded("PNG"), meta, a1111_parameters(meta)))
    got = read_recipe(path)
    assert (got.source, got.prompt, got.seed, got.steps) == ("imagen-tui", "a fox", 3, 4)
    assert (got.sampler, got.cfg, got.extra["backend"]) == ("euler", 5.0, "mock")


_file_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Cf", "Zl", "Zp"]) | st.just("\n"),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(prompt=_file_text, negative=_file_text, seed=st.integers(0, 2**80))
def test_our_parameters_chunk_round_trips_through_png_bytes(
    prompt: str, negative: str, seed: int
) -> None:
    assume(not any(line.startswith("Negative prompt:") for line in prompt.split("\n")))
    meta = {"prompt": prompt, "negative": negative, "seed": seed, "steps": 20, "width": 32,
            "height": 24, "backend": "mock"}  # fmt: skip
    png = embed(encoded("PNG", (32, 24)), {}, a1111_parameters(meta))
    got = infotext_fields(read_png_text(png).texts["parameters"])
    assert (got["prompt"], got["negative"], int(got["seed"])) == (prompt, negative, seed)
