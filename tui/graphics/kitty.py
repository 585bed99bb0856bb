"""kitty graphics protocol: transmit, virtual placement, Unicode placeholder cells, delete.

Protocol facts (kitty docs/graphics-protocol.rst, https://sw.kovidgoyal.net/kitty/graphics-protocol/,
read 2026-11-29; placeholders: kitty commit d63eeada73 "Image placement using Unicode
placeholders", 2023-02-21, released in 0.28.0):

* A command is an APC ``ESC _ G <key=value,...> [; <base64 payload>] ESC \\``. Payloads are
  base64 and sent in chunks of at most 4096 bytes: ``m=1`` on every chunk but the last, ``m=0``
  on the last; only the first chunk carries the other keys. ``q=2`` silences every reply, so no
  answer ever reaches our stdin as stray "keys".
* ``a=t,f=100,i=ID`` stores a PNG under image id ``ID``; ``a=p,U=1,i=ID,c=COLS,r=ROWS`` creates a
  *virtual* placement that shows nowhere until placeholder cells refer to it (kitty >= 0.28).
* A placeholder cell is U+10EEEE followed by combining diacritics from the table below: the
  first gives the cell's row in the placement, the second its column, the optional third the
  most significant byte of the image id. The foreground colour carries the rest of the id:
  a 24-bit colour ``r;g;b`` means ``r<<16 | g<<8 | b``, a 256-colour index ``n`` means ``n``.
* ``a=d,d=I,i=ID`` deletes the image's placements and frees its data.

tmux 3.3a (verified here by tests/e2e/test_kitty_through_tmux.py with a client on a pty):
``ESC P tmux; <data with every ESC doubled> ESC \\`` reaches the outer terminal, unwrapped, only
when the pane option ``allow-passthrough`` is on and a client shows the pane; otherwise tmux
drops it. The placeholder cells are ordinary text to tmux, redrawn with their 256-colour SGR.
"""

from __future__ import annotations

import base64
import colorsys
import io
import random
from collections.abc import Iterator

from PIL import Image

PLACEHOLDER = "\U0010eeee"
APC_START, ST = "\x1b_G", "\x1b\\"
CHUNK = 4096  # base64 bytes per APC, the protocol's maximum
# fmt: off
DIACRITICS: tuple[int, ...] = (  # rowcolumn-diacritics.txt from the kitty docs, in order
    0x00305, 0x0030D, 0x0030E, 0x00310, 0x00312, 0x0033D, 0x0033E, 0x0033F, 0x00346, 0x0034A,
    0x0034B, 0x0034C, 0x00350, 0x00351, 0x00352, 0x00357, 0x0035B, 0x00363, 0x00364, 0x00365,
    0x00366, 0x00367, 0x00368, 0x00369, 0x0036A, 0x0036B, 0x0036C, 0x0036D, 0x0036E, 0x0036F,
    0x00483, 0x00484, 0x00485, 0x00486, 0x00487, 0x00592, 0x00593, 0x00594, 0x00595, 0x00597,
    0x00598, 0x00599, 0x0059C, 0x0059D, 0x0059E, 0x0059F, 0x005A0, 0x005A1, 0x005A8, 0x005A9,
    0x005AB, 0x005AC, 0x005AF, 0x005C4, 0x00610, 0x00611, 0x00612, 0x00613, 0x00614, 0x00615,
    0x00616, 0x00617, 0x00657, 0x00658, 0x00659, 0x0065A, 0x0065B, 0x0065D, 0x0065E, 0x006D6,
    0x006D7, 0x006D8, 0x006D9, 0x006DA, 0x006DB, 0x006DC, 0x006DF, 0x006E0, 0x006E1, 0x006E2,
    0x006E4, 0x006E7, 0x006E8, 0x006EB, 0x006EC, 0x00730, 0x00732, 0x00733, 0x00735, 0x00736,
    0x0073A, 0x0073D, 0x0073F, 0x00740, 0x00741, 0x00743, 0x00745, 0x00747, 0x00749, 0x0074A,
    0x007EB, 0x007EC, 0x007ED, 0x007EE, 0x007EF, 0x007F0, 0x007F1, 0x007F3, 0x00816, 0x00817,
    0x00818, 0x00819, 0x0081B, 0x0081C, 0x0081D, 0x0081E, 0x0081F, 0x00820, 0x00821, 0x00822,
    0x00823, 0x00825, 0x00826, 0x00827, 0x00829, 0x0082A, 0x0082B, 0x0082C, 0x0082D, 0x00951,
    0x00953, 0x00954, 0x00F82, 0x00F83, 0x00F86, 0x00F87, 0x0135D, 0x0135E, 0x0135F, 0x017DD,
    0x0193A, 0x01A17, 0x01A75, 0x01A76, 0x01A77, 0x01A78, 0x01A79, 0x01A7A, 0x01A7B, 0x01A7C,
    0x01B6B, 0x01B6D, 0x01B6E, 0x01B6F, 0x01B70, 0x01B71, 0x01B72, 0x01B73, 0x01CD0, 0x01CD1,
    0x01CD2, 0x01CDA, 0x01CDB, 0x01CE0, 0x01DC0, 0x01DC1, 0x01DC3, 0x01DC4, 0x01DC5, 0x01DC6,
    0x01DC7, 0x01DC8, 0x01DC9, 0x01DCB, 0x01DCC, 0x01DD1, 0x01DD2, 0x01DD3, 0x01DD4, 0x01DD5,
    0x01DD6, 0x01DD7, 0x01DD8, 0x01DD9, 0x01DDA, 0x01DDB, 0x01DDC, 0x01DDD, 0x01DDE, 0x01DDF,
    0x01DE0, 0x01DE1, 0x01DE2, 0x01DE3, 0x01DE4, 0x01DE5, 0x01DE6, 0x01DFE, 0x020D0, 0x020D1,
    0x020D4, 0x020D5, 0x020D6, 0x020D7, 0x020DB, 0x020DC, 0x020E1, 0x020E7, 0x020E9, 0x020F0,
    0x02CEF, 0x02CF0, 0x02CF1, 0x02DE0, 0x02DE1, 0x02DE2, 0x02DE3, 0x02DE4, 0x02DE5, 0x02DE6,
    0x02DE7, 0x02DE8, 0x02DE9, 0x02DEA, 0x02DEB, 0x02DEC, 0x02DED, 0x02DEE, 0x02DEF, 0x02DF0,
    0x02DF1, 0x02DF2, 0x02DF3, 0x02DF4, 0x02DF5, 0x02DF6, 0x02DF7, 0x02DF8, 0x02DF9, 0x02DFA,
    0x02DFB, 0x02DFC, 0x02DFD, 0x02DFE, 0x02DFF, 0x0A66F, 0x0A67C, 0x0A67D, 0x0A6F0, 0x0A6F1,
    0x0A8E0, 0x0A8E1, 0x0A8E2, 0x0A8E3, 0x0A8E4, 0x0A8E5, 0x0A8E6, 0x0A8E7, 0x0A8E8, 0x0A8E9,
    0x0A8EA, 0x0A8EB, 0x0A8EC, 0x0A8ED, 0x0A8EE, 0x0A8EF, 0x0A8F0, 0x0A8F1, 0x0AAB0, 0x0AAB2,
    0x0AAB3, 0x0AAB7, 0x0AAB8, 0x0AABE, 0x0AABF, 0x0AAC1, 0x0FE20, 0x0FE21, 0x0FE22, 0x0FE23,
    0x0FE24, 0x0FE25, 0x0FE26, 0x10A0F, 0x10A38, 0x1D185, 0x1D186, 0x1D187, 0x1D188, 0x1D189,
    0x1D1AA, 0x1D1AB, 0x1D1AC, 0x1D1AD, 0x1D242, 0x1D243, 0x1D244,
)
# fmt: on
MAX_CELLS = len(DIACRITICS)  # rows or columns one placement can address (297)


def xterm_256_rgb(index: int) -> tuple[int, int, int]:
    """The xterm default palette entry for colour `index` 16..255 as (r, g, b) 0..255."""
    if 16 <= index <= 231:
        n = index - 16
        levels = (0, 95, 135, 175, 215, 255)
        return levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
    if 232 <= index <= 255:
        v = 8 + 10 * (index - 232)
        return v, v, v
    raise ValueError(f"no fixed palette entry for colour {index}")


def _survives_256_downgrade(index: int) -> bool:
    # Rich (which Textual renders through) maps a low-saturation RGB to the grey ramp when it
    # downgrades truecolor to 256 colours; cube colours with clear saturation map back exactly.
    r, g, b = xterm_256_rgb(index)
    _h, _l, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
    return s >= 0.16


LOW_BYTES: tuple[int, ...] = tuple(i for i in range(16, 232) if _survives_256_downgrade(i))
"""Low id bytes usable in both colour modes: 256-colour cube entries with clear saturation."""


class ImageIds:
    """Hands out image ids `msb << 24 | low`, `low` cycling through LOW_BYTES.

    `msb` (1..255, random per process) keeps two programs sharing one kitty window (tmux panes)
    apart; the low byte is the only part the foreground colour must carry, so the same id works
    whether the screen is drawn in truecolor or in 256 colours.
    """

    def __init__(self, msb: int | None = None) -> None:
        self.msb = msb if msb is not None else random.randint(1, 255)
        if not 1 <= self.msb <= 255:
            raise ValueError(f"msb must be 1..255, got {self.msb}")
        self._next = random.randrange(len(LOW_BYTES))

    def allocate(self) -> int:
        """A fresh id (32-bit, never 0)."""
        low = LOW_BYTES[self._next % len(LOW_BYTES)]
        self._next += 1
        return self.msb << 24 | low


def id_colour(image_id: int, truecolor: bool) -> tuple[int, int, int]:
    """Foreground (r, g, b) whose rendering encodes `image_id`'s low 24 bits.

    truecolor: ``38;2;0;0;low`` decodes as ``low``. 256 colours: the palette entry of ``low``,
    which Rich downgrades back to ``38;5;low``. Only ids from `ImageIds` are valid here.
    """
    low = image_id & 0xFFFFFF
    if low not in LOW_BYTES:
        raise ValueError(f"image id {image_id:#x} cannot be carried by a 256-colour index")
    return (0, 0, low) if truecolor else xterm_256_rgb(low)


def command(keys: dict[str, int | str], payload: str = "") -> str:
    """One APC graphics command; `keys` in order, e.g. {"a": "d", "d": "I", "i": 7}."""
    control = ",".join(f"{k}={v}" for k, v in keys.items())
    return f"{APC_START}{control}{';' + payload if payload else ''}{ST}"


def tmux_wrap(sequence: str) -> str:
    """Wrap one escape sequence for tmux passthrough: ``ESC P tmux; …ESC doubled… ESC \\``."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + ST


def png_bytes(image: Image.Image) -> bytes:
    """`image` encoded as PNG (fast compression: the bytes only cross a pipe)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def transmit_commands(image_id: int, png: bytes, cols: int, rows: int) -> Iterator[str]:
    """APCs that store `png` as `image_id` and create its virtual placement of cols×rows cells."""
    if not (1 <= cols <= MAX_CELLS and 1 <= rows <= MAX_CELLS):
        raise ValueError(f"placement {cols}x{rows} cells is outside 1..{MAX_CELLS}")
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [""]
    for n, chunk in enumerate(chunks):
        more = 1 if n < len(chunks) - 1 else 0
        keys: dict[str, int | str] = {"m": more}
        if n == 0:
            keys = {"a": "t", "f": 100, "i": image_id, "q": 2, "m": more}
        yield command(keys, chunk)
    yield command({"a": "p", "U": 1, "i": image_id, "c": cols, "r": rows, "q": 2})


def delete_command(image_id: int) -> str:
    """The APC that deletes `image_id`'s placements and frees its data."""
    return command({"a": "d", "d": "I", "i": image_id, "q": 2})


def wire(commands: Iterator[str] | list[str], passthrough: bool) -> str:
    """Join APCs for the terminal, each wrapped for tmux passthrough when `passthrough`."""
    return "".join(tmux_wrap(c) if passthrough else c for c in commands)


def placeholder_rows(image_id: int, cols: int, rows: int) -> list[str]:
    """`rows` strings of `cols` placeholder cells (each one terminal cell wide)."""
    if not (1 <= cols <= MAX_CELLS and 1 <= rows <= MAX_CELLS):
        raise ValueError(f"placement {cols}x{rows} cells is outside 1..{MAX_CELLS}")
    msb = image_id >> 24
    tail = chr(DIACRITICS[msb]) if msb else ""
    col_marks = [chr(DIACRITICS[c]) + tail for c in range(cols)]
    return [
        "".join(PLACEHOLDER + chr(DIACRITICS[r]) + mark for mark in col_marks) for r in range(rows)
    ]
