"""PNG text chunks: embedding ours, reading ours, A1111's and ComfyUI's."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from imagen_tui.backends.store.pngmeta import (
    a1111_parameters,
    embed,
    import_metadata,
    read_text_chunks,
)

META = {
    "version": 1,
    "prompt": "a red fox, in snow: at dawn",
    "negative": "blurry",
    "backend": "mock",
    "backend_type": "mock",
    "model": "mock-v1",
    "seed": 42,
    "steps": 20,
    "width": 64,
    "height": 48,
    "created_at": "2024-05-06T07:08:09+00:00",
    "favourite": False,
    "tags": [],
    "provider": {"sampler": "mock"},
}


def png_bytes(size: tuple[int, int] = (64, 48), info: PngInfo | None = None) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 10, 30)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, asserting each CRC."""
    out, pos = [], 8
    while pos < len(png):
        length, ctype = struct.unpack_from(">I4s", png, pos)
        data = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", png, pos + 8 + length)
        assert crc == zlib.crc32(ctype + data), ctype
        out.append((ctype, data))
        pos += 12 + length
    return out


def raw_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def insert_before_iend(png: bytes, chunk: bytes) -> bytes:
    return png[:-12] + chunk + png[-12:]


# --- embed -----------------------------------------------------------------------------------


def test_embed_puts_our_chunks_right_after_ihdr_and_keeps_pixels() -> None:
    png = png_bytes()
    params = a1111_parameters(META)
    out = embed(png, META, params)
    types = [c[0] for c in chunks(out)]
    assert types[:3] == [b"IHDR", b"iTXt", b"tEXt"]
    with Image.open(io.BytesIO(out)) as im:
        im.load()
        assert json.loads(im.text["imagen-tui"]) == META
        assert im.text["parameters"] == params
        assert im.getpixel((3, 3)) == (200, 10, 30)


def test_embed_copies_every_other_byte_verbatim() -> None:
    png = png_bytes((300, 200))
    out = embed(png, META, "p")
    ours = b"".join(raw_chunk(t, d) for t, d in chunks(out)[1:3])
    assert out.replace(ours, b"") == png


def test_embed_uses_itxt_for_non_latin1_parameters() -> None:
    out = embed(png_bytes(), {"prompt": "狐"}, "狐 in snow\nSteps: 1, Seed: 2, Size: 64x48")
    assert [c[0] for c in chunks(out)][1:3] == [b"iTXt", b"iTXt"]
    with Image.open(io.BytesIO(out)) as im:
        assert im.text["parameters"].startswith("狐 in snow")
        assert json.loads(im.text["imagen-tui"]) == {"prompt": "狐"}


def test_embed_twice_replaces_rather_than_duplicates() -> None:
    once = embed(png_bytes(), {"v": 1}, "first")
    twice = embed(once, {"v": 2}, "second")
    texts = [c for c in chunks(twice) if c[0] in (b"tEXt", b"iTXt")]
    assert len(texts) == 2
    assert read_text_chunks(twice) == {"imagen-tui": '{"v": 2}', "parameters": "second"}


def test_embed_skips_empty_parameters() -> None:
    assert set(read_text_chunks(embed(png_bytes(), META, ""))) == {"imagen-tui"}


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"\xff\xd8\xff\xe0 jpeg", png_bytes()[:40]])
def test_embed_rejects_non_png(data: bytes) -> None:
    with pytest.raises(ValueError):
        embed(data, META, "x")


# --- read_text_chunks ------------------------------------------------------------------------


def test_read_text_chunks_all_three_kinds(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_text("plain", "latin é")
    info.add_text("squeezed", "z" * 500, zip=True)
    info.add_itxt("intl", "日本語 text", lang="ja", tkey="翻訳", zip=True)
    info.add_itxt("intl-raw", "ünï", zip=False)
    path = tmp_path / "x.png"
    path.write_bytes(png_bytes(info=info))
    expected = {"plain": "latin é", "squeezed": "z" * 500, "intl": "日本語 text", "intl-raw": "ünï"}
    assert read_text_chunks(path) == expected
    assert read_text_chunks(str(path)) == expected
    assert read_text_chunks(path.read_bytes()) == expected


def test_read_text_chunks_finds_text_after_idat() -> None:
    png = insert_before_iend(png_bytes(), raw_chunk(b"tEXt", b"prompt\0{}"))
    assert read_text_chunks(png) == {"prompt": "{}"}


def test_read_text_chunks_ignores_bad_crc_and_survives_truncation() -> None:
    good = raw_chunk(b"tEXt", b"good\0yes")
    bad = bytearray(raw_chunk(b"tEXt", b"bad\0no"))
    bad[-1] ^= 0xFF
    png = png_bytes()
    damaged = png[:33] + good + bytes(bad) + png[33:]
    assert read_text_chunks(damaged) == {"good": "yes"}
    assert read_text_chunks(damaged[: 33 + len(good) + 5]) == {"good": "yes"}


def test_read_text_chunks_rejects_non_png() -> None:
    with pytest.raises(ValueError):
        read_text_chunks(b"not a png at all")


# --- A1111 parameters ------------------------------------------------------------------------


def test_a1111_parameters_format() -> None:
    meta = {**META, "prompt": "a fox", "model": "mock-v1", "provider": {"sampler": "mock"}}
    assert a1111_parameters(meta) == (
        "a fox\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: mock, Seed: 42, Size: 64x48, Model: mock-v1, Backend: mock"
    )


def test_a1111_parameters_only_present_keys_and_quoting() -> None:
    meta = {"prompt": "p", "negative": "", "seed": None, "width": 8, "height": 8, "model": "a,b:c"}
    assert a1111_parameters(meta) == 'p\nSize: 8x8, Model: "a,b:c"'


# --- import_metadata -------------------------------------------------------------------------


def write_png(tmp_path: Path, name: str, **texts: str) -> Path:
    info = PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    path = tmp_path / name
    path.write_bytes(png_bytes((80, 60), info))
    return path


def test_import_our_chunk_wins(tmp_path: Path) -> None:
    path = tmp_path / "ours.png"
    path.write_bytes(embed(png_bytes(), META, "other prompt\nSteps: 1, Seed: 2, Size: 3x4"))
    assert import_metadata(path) == META


def test_import_our_chunk_from_a_hostile_file_is_terminal_safe(tmp_path: Path) -> None:
    evil = {**META, "prompt": "a\x1b[2Jb", "model": "m\x1b]0;x\x07", "provider": {"k": 1}}
    path = tmp_path / "evil.png"
    path.write_bytes(embed(png_bytes(), evil, ""))
    got = import_metadata(path)
    assert got is not None and (got["prompt"], got["model"]) == ("a[2Jb", "m]0;x")


def test_import_corrupt_own_chunk_falls_back_to_a1111(tmp_path: Path) -> None:
    path = write_png(tmp_path, "x.png", **{"imagen-tui": "{oops", "parameters": "cat\nSeed: 7"})
    got = import_metadata(path)
    assert got is not None and got["prompt"] == "cat" and got["seed"] == 7


def test_import_a1111_is_sidecar_shaped(tmp_path: Path) -> None:
    params = "a fox\nNegative prompt: ugly\nSteps: 30, Sampler: Euler a, CFG scale: 6.5, Seed: 9"
    got = import_metadata(write_png(tmp_path, "a.png", parameters=params))
    assert got is not None
    assert set(META) <= set(got)
    assert got["prompt"] == "a fox" and got["negative"] == "ugly"
    assert (got["steps"], got["seed"]) == (30, 9)
    assert (got["width"], got["height"]) == (80, 60)  # no Size: taken from IHDR
    assert got["backend_type"] == "a1111" and got["favourite"] is False
    assert got["provider"] == {"sampler": "Euler a", "cfg_scale": 6.5}
    assert json.dumps(got, allow_nan=False)
    assert got["created_at"].endswith("+00:00")


COMFY = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["10", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"}},
    "10": {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "lora_name": "x"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ["11", 0], "clip": ["4", 1]}},
    "11": {"class_type": "PrimitiveString", "inputs": {"value": "a castle, at night"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
}


def test_import_comfyui_workflow(tmp_path: Path) -> None:
    got = import_metadata(write_png(tmp_path, "c.png", prompt=json.dumps(COMFY)))
    assert got is not None
    assert got["prompt"] == "a castle, at night" and got["negative"] == "watermark"
    assert (got["seed"], got["steps"]) == (156680208700286, 20)
    assert (got["width"], got["height"]) == (80, 60)  # the header's, not the latent's
    assert got["model"] == "v1-5.safetensors"
    assert got["backend_type"] == "comfyui"
    assert got["provider"]["sampler"] == "euler" and got["provider"]["scheduler"] == "normal"
    assert got["provider"]["cfg_scale"] == 8.0
    assert got["provider"]["loras"] == [{"name": "x", "weight": None}]


def test_import_comfyui_with_link_cycle_does_not_hang(tmp_path: Path) -> None:
    loop = {
        "1": {"class_type": "KSampler", "inputs": {"positive": ["2", 0], "seed": ["2", 0]}},
        "2": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0]}},
    }
    got = import_metadata(write_png(tmp_path, "loop.png", prompt=json.dumps(loop)))
    assert got is not None and got["prompt"] == "" and got["seed"] is None


def test_import_without_known_metadata_still_gives_the_header_size(tmp_path: Path) -> None:
    for name, texts in [("plain.png", {}), ("c.png", {"prompt": "not json"})]:
        got = import_metadata(write_png(tmp_path, name, **texts))
        assert got is not None and (got["width"], got["height"]) == (80, 60)
        assert got["prompt"] == "" and got["seed"] is None
    got = import_metadata(write_png(tmp_path, "d.png", prompt='{"1": {"class_type": "X"}}'))
    assert got is not None and got["backend_type"] == "comfyui" and got["width"] == 80
    assert "sampler" in got["import_problem"]


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_import_other_formats_give_their_size(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"x.{fmt.lower()}"
    Image.new("RGB", (16, 12)).save(path, fmt)
    got = import_metadata(path)
    assert got is not None and (got["width"], got["height"], got["backend_type"]) == (
        16,
        12,
        "none",
    )


@pytest.mark.parametrize(
    "data",
    [b"", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n" + b"\xff" * 64, png_bytes()[:20]],
)
def test_import_corrupt_files_give_none(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(data)
    assert import_metadata(path) is None


def test_import_truncated_after_the_header_keeps_the_size(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    path.write_bytes(png_bytes()[:30])
    got = import_metadata(path)
    assert got is not None and (got["width"], got["height"], got["prompt"]) == (64, 48, "")


def test_import_missing_file_gives_none(tmp_path: Path) -> None:
    assert import_metadata(tmp_path / "nope.png") is None
