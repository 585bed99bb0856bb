"""Bounded, terminal-safe text taken from foreign files.

Every string a reader takes from an image (prompts, settings, model names) passes through
`clean()`: line endings (CRLF, CR, U+2028/9) become `\n`, control characters that a terminal
would act on (C0 but `\n`/`\t`, DEL, C1 including the 8-bit CSI) and bidi overrides that
reorder text are dropped, and text past a limit is cut with a visible mark, so neither an
escape sequence nor a 13 MB prompt reaches the screen or the index. Dropping (rather than the
stand-ins of `imagen_tui.backends.text.visible`, which the display still applies) keeps an
imported prompt fit to re-run and to search.
"""

from __future__ import annotations

MAX_PROMPT_CHARS = 65_536  # a prompt or negative prompt; real ones stay under 10,000
MAX_FIELD_CHARS = 4_096  # a model name, sampler, setting value
MAX_RAW_CHARS = 262_144  # one original text chunk kept in `Recipe.raw`

_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_CONTROLS: dict[int, str | None] = {
    c: None for c in [*range(0x00, 0x20), *range(0x7F, 0xA0), *_BIDI] if c not in (0x09, 0x0A)
}
_CONTROLS |= {0x2028: "\n", 0x2029: "\n"}


def truncation_mark(dropped: int) -> str:
    """The suffix that replaces `dropped` characters cut from a text."""
    return f"… [truncated: {dropped} more characters]"


def clip(text: str, limit: int) -> tuple[str, bool]:
    """(`text` cut to `limit` characters plus a mark if longer, whether it was cut)."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + truncation_mark(len(text) - limit), True


def clean(text: str, limit: int = MAX_FIELD_CHARS) -> tuple[str, bool]:
    """(terminal-safe `text`, whether it was truncated).

    CRLF, lone CR and U+2028/9 become LF; control characters other than LF and TAB, and bidi
    embeddings/overrides/isolates/marks, are removed.
    The cut happens before cleaning, so a huge input costs at most `limit` characters of work.
    """
    text, cut = clip(text, limit)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isprintable():
        text = text.translate(_CONTROLS)
    return text, cut


def safe(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """`clean()` without the flag: for short fields where a cut needs no report."""
    return clean(text, limit)[0]
