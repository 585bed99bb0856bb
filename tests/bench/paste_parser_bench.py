"""Terminal input parsing cost: Textual's XTermParser vs our PasteSafeParser (prints numbers).

    .venv/bin/python tests/bench/paste_parser_bench.py

Typed keys (letters, arrows) and one 100,000-character bracketed paste, each fed in 4 KiB reads
as the driver does. The paste-safe parser must not slow typing down noticeably.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual._xterm_parser import XTermParser

from imagen_tui.tui.paste_parser import PasteSafeParser

READ = 4096
TYPED = ("jk\x1b[A\x1b[Bq" * 20_000)[:100_000]
PASTE = "\x1b[200~" + ("a fox in snow, \x1b]0;t\x07 " * 5_000)[:100_000] + "\x1b[201~"


def feed_all(make: Callable[[], XTermParser], data: str) -> tuple[float, int]:
    parser = make()
    start = time.perf_counter()
    count = 0
    for at in range(0, len(data), READ):
        count += sum(1 for _ in parser.feed(data[at : at + READ]))
    count += sum(1 for _ in parser.feed(""))
    return time.perf_counter() - start, count


def main() -> None:
    for name, data in (("typed keys", TYPED), ("one paste", PASTE)):
        for make in (XTermParser, PasteSafeParser):
            best = min(feed_all(make, data)[0] for _ in range(5))
            events = feed_all(make, data)[1]
            per_char = best / len(data) * 1e6
            print(f"{name:10s} {make.__name__:16s} {best * 1000:7.1f} ms "
                  f"({per_char:.2f} µs/char, {events} events)")  # fmt: skip


if __name__ == "__main__":
    main()
