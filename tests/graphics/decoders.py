"""Independent decoders for our terminal output: tmux passthrough, kitty APCs, placeholder
cells with their SGR colours, and sixel DCS. Written from the protocol texts, not from our
encoders, so a test that round-trips through them checks the bytes a terminal would see."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field

from PIL import Image

# --- tmux passthrough and kitty APCs ----------------------------------------------------------
PASSTHROUGH = re.compile(r"\x1bPtmux;((?:\x1b\x1b|[^\x1b])*)\x1b\\", re.S)
APC = re.compile(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")


def unwrap_tmux(stream: str) -> str:
    """Replace every passthrough envelope by its content (doubled ESC halved)."""
    inner = PASSTHROUGH.sub(lambda m: m.group(1).replace("\x1b\x1b", "\x1b"), stream)
    assert "\x1bPtmux;" not in inner, "unterminated passthrough"
    return inner


@dataclass
class KittyState:
    """What a kitty terminal would hold after reading the stream."""

    images: dict[int, Image.Image] = field(default_factory=dict)
    placements: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (cols, rows)
    deleted: list[int] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)  # q values seen
    chunk_sizes: list[int] = field(default_factory=list)


def decode_kitty(stream: str) -> KittyState:
    """Parse a stream that must consist only of APC graphics commands."""
    state, pending, keys0 = KittyState(), None, {}
    rest = APC.sub("", stream)
    assert rest == "", f"bytes outside APC commands: {rest[:40]!r}"
    for match in APC.finditer(stream):
        keys = dict(kv.split("=", 1) for kv in match.group(1).split(",") if kv)
        payload = match.group(2) or ""
        if pending is not None:  # continuation chunk: only m (and payload) allowed
            assert set(keys) == {"m"}, keys
            pending += payload
            state.chunk_sizes.append(len(payload))
        elif keys.get("a", "t") == "t":
            keys0, pending = keys, payload
            state.chunk_sizes.append(len(payload))
            state.quiet.append(keys.get("q", ""))
        elif keys["a"] == "p":
            assert keys.get("U") == "1", "placement must be virtual"
            state.placements[int(keys["i"])] = (int(keys["c"]), int(keys["r"]))
            state.quiet.append(keys.get("q", ""))
            continue
        elif keys["a"] == "d":
            assert keys.get("d") == "I"
            state.deleted.append(int(keys["i"]))
            state.quiet.append(keys.get("q", ""))
            continue
        if keys.get("m") == "0":
            assert keys0.get("f") == "100"
            png = base64.standard_b64decode(pending)
            state.images[int(keys0["i"])] = Image.open(io.BytesIO(png)).convert("RGB")
            pending = None
    assert pending is None, "unfinished chunked transmission"
    return state


# --- placeholder cells --------------------------------------------------------------------------
PLACEHOLDER = 0x10EEEE
SGR = re.compile(r"\x1b\[([\d;:]*)m")


def _diacritics() -> list[int]:
    from textual_image.renderable.tgp import _NUMBER_TO_DIACRITIC  # a second, independent table

    return list(_NUMBER_TO_DIACRITIC)


def decode_placeholders(ansi_lines: list[str]) -> dict[int, dict[tuple[int, int], tuple[int, int]]]:
    """{image id: {(screen row, screen col): (image row, image col)}} from rendered lines."""
    index = {cp: n for n, cp in enumerate(_diacritics())}
    grids: dict[int, dict[tuple[int, int], tuple[int, int]]] = {}
    for y, line in enumerate(ansi_lines):
        fg, x, pos = None, 0, 0
        while pos < len(line):
            m = SGR.match(line, pos)
            if m:
                fg = _apply_sgr(fg, m.group(1))
                pos = m.end()
                continue
            ch = ord(line[pos])
            if ch == PLACEHOLDER:
                marks = []
                pos += 1
                while pos < len(line) and ord(line[pos]) in index:
                    marks.append(index[ord(line[pos])])
                    pos += 1
                assert fg is not None, "placeholder without a foreground colour"
                image_id = fg | (marks[2] << 24 if len(marks) > 2 else 0)
                grids.setdefault(image_id, {})[(y, x)] = (marks[0], marks[1])
                x += 1
                continue
            pos += 1
            x += 1
    return grids


def _apply_sgr(fg: int | None, params: str) -> int | None:
    parts = [p for p in params.split(";")]
    i = 0
    while i < len(parts):
        if parts[i] == "38" and parts[i + 1] == "2":
            r, g, b = map(int, parts[i + 2 : i + 5])
            fg, i = r << 16 | g << 8 | b, i + 5
        elif parts[i] == "38" and parts[i + 1] == "5":
            fg, i = int(parts[i + 2]), i + 3
        elif parts[i] in ("0", "", "39"):
            fg, i = None, i + 1
        else:
            i += (
                1
                + (4 if parts[i] == "48" and parts[i + 1] == "2" else 0)
                + (2 if parts[i] == "48" and parts[i + 1] == "5" else 0)
            )
    return fg


# --- sixel --------------------------------------------------------------------------------------
DCS = re.compile(r"\x1bP([\d;]*)q(.*?)\x1b\\", re.S)


@dataclass
class SixelPicture:
    declared: tuple[int, int]  # raster attributes Ph, Pv
    image: Image.Image  # what was painted (unpainted pixels black)
    painted_height: int  # rows reached by bands (multiple of 6)
    registers: dict[int, tuple[int, int, int]]


def decode_sixel(data: str) -> SixelPicture:
    """Paint a sixel DCS onto a canvas the way a VT340 would."""
    m = DCS.fullmatch(data)
    assert m, "not one sixel DCS"
    body = m.group(2)
    ra = re.match(r'"1;1;(\d+);(\d+)', body)
    assert ra, "raster attributes with square pixels expected"
    w, h = int(ra.group(1)), int(ra.group(2))
    body = body[ra.end() :]
    regs: dict[int, tuple[int, int, int]] = {}
    pixels: dict[tuple[int, int], tuple[int, int, int]] = {}
    x = band = 0
    colour = 0
    max_x = 0
    for tok in re.finditer(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)([?-~])|([?-~])|(\$)|(-)", body):
        if tok.group(1) is not None:
            colour = int(tok.group(1))
            if tok.group(2) is not None:
                regs[colour] = tuple(round(int(tok.group(k)) * 255 / 100) for k in (2, 3, 4))
        elif tok.group(5) or tok.group(7):
            count = int(tok.group(5)) if tok.group(5) else 1
            bits = ord(tok.group(6) or tok.group(7)) - 63
            for _ in range(count):
                for r in range(6):
                    if bits >> r & 1:
                        pixels[(x, band * 6 + r)] = regs[colour]
                x += 1
            max_x = max(max_x, x)
        elif tok.group(8):
            x = 0
        elif tok.group(9):
            x, band = 0, band + 1
    painted = (band + 1) * 6
    assert max_x <= w, f"band wider than declared: {max_x} > {w}"
    canvas = Image.new("RGB", (w, max(h, painted)))
    for (px, py), rgb in pixels.items():
        canvas.putpixel((px, py), rgb)
    return SixelPicture((w, h), canvas, painted, regs)
