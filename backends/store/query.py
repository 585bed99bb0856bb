"""History search queries: user text → a `Query` of terms and field filters (no SQL here).

Syntax (terms are ANDed; case never matters):

    red fox            words; each matches a whole word, and the last one (unless followed by
                       a space) also the start of a longer word, as it may still be typed
    "a red fox"        a quoted phrase: these words next to each other
    白い猫  猫  C++      literal text: any run of CJK, Thai… (scripts written without spaces),
                       or a term holding punctuation, matches as a substring, exactly
    prompt:fox  negative:blurry      a term limited to the prompt or the negative prompt
    model:sdxl         the model name contains this text
    backend:mock       the backend instance is exactly this one
    seed:42            the seed is exactly this number

Free terms search the prompt, the negative prompt and the model name. A term without a letter,
digit or symbol (`*`, `-`, `(`) is ignored; a query made only of such terms is refused with a
`StoreError` whose message says what to type instead ("everything" is the empty query).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import StoreError

__all__ = ["Kind", "Query", "Term", "parse_query", "SEARCH_HINT"]

SEARCH_HINT = 'search for a word (fox), a phrase ("red fox") or a field (model:sdxl, seed:42)'
TEXT_FIELDS = ("prompt", "negative")
FILTER_FIELDS = ("model", "backend", "seed")
_INT64 = 2**63

# Scripts written without spaces between words (plus Hangul, whose particles attach to the
# word): a word tokenizer sees a whole clause as one "word", so these match as substrings.
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3040, 0x31FF),  # Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo Extended-B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFFDC),  # halfwidth Katakana and Hangul
    (0x20000, 0x323AF),  # CJK Extensions B–H
)


class Kind(StrEnum):
    WORD = "word"  # letters/digits of spaced scripts: whole-word match (prefix if `prefix`)
    PHRASE = "phrase"  # quoted words of spaced scripts: adjacent whole words
    LITERAL = "literal"  # anything else: a case-insensitive substring


@dataclass(frozen=True, slots=True)
class Term:
    """One text condition. `field` is None (prompt, negative or model), "prompt" or "negative"."""

    text: str
    kind: Kind
    field: str | None = None
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: every term and filter must hold. `model` values are substrings,
    `backend` values exact names (both lower-cased), `seed` values exact integers."""

    terms: tuple[Term, ...] = ()
    model: tuple[str, ...] = ()
    backend: tuple[str, ...] = ()
    seed: tuple[int, ...] = ()
    ignored: tuple[str, ...] = field(default=(), compare=False)


def parse_query(text: str | None) -> Query | None:
    """Parse user search text; None when there is nothing to filter on (empty or blank).

    Raises StoreError (with `SEARCH_HINT`) for text made only of punctuation, a field without
    a value (`model:`), or a seed that is not a whole number.
    """
    text = _clean(text or "")
    if not text.strip():
        return None
    terms: list[Term] = []
    filters: dict[str, list[str | int]] = {name: [] for name in FILTER_FIELDS}
    ignored: list[str] = []
    tokens = _tokens(text)
    for name, value, quoted in tokens:
        if name in FILTER_FIELDS:
            filters[name].append(_filter_value(name, value))
            continue
        term = _term(value, quoted, name)
        if term is None:
            ignored.append(value)
        else:
            terms.append(term)
    if terms and terms[-1].kind is Kind.WORD and not tokens[-1][2] and not text[-1].isspace():
        # Still being typed: the last word also matches longer words (`astro` → astronaut).
        terms[-1] = Term(terms[-1].text, Kind.WORD, terms[-1].field, prefix=True)
    if not terms and not any(filters.values()):
        raise StoreError(f"nothing to search for in {text.strip()!r}: {SEARCH_HINT}")
    return Query(
        tuple(terms),
        tuple(str(v) for v in filters["model"]),
        tuple(str(v) for v in filters["backend"]),
        tuple(int(v) for v in filters["seed"]),
        tuple(ignored),
    )  # fmt: skip


def _clean(text: str) -> str:
    """NUL ends a string for SQLite, so it separates words; lone surrogates (undecodable argv
    bytes) cannot be stored or compared at all."""
    text = text.replace("\0", " ").encode("utf-8", "replace").decode("utf-8")
    return unicodedata.normalize("NFC", text)


def _tokens(text: str) -> list[tuple[str | None, str, bool]]:
    """(field or None, value, quoted) per whitespace-separated token; a token that starts with
    `"` runs to the next `"` (or the end). `field:` counts only for the names we know."""
    found, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        name, start = None, i
        colon = _field_end(text, i)
        if colon is not None:
            name, start = text[i:colon].lower(), colon + 1
        if start < len(text) and text[start] == '"':
            end = text.find('"', start + 1)
            end = len(text) if end < 0 else end
            found.append((name, text[start + 1 : end], True))
            i = end + 1
            continue
        end = start
        while end < len(text) and not text[end].isspace():
            end += 1
        found.append((name, text[start:end], False))
        i = end
    return found


def _field_end(text: str, i: int) -> int | None:
    """Index of the colon when a known `field:` starts at `i`, else None."""
    for name in (*TEXT_FIELDS, *FILTER_FIELDS):
        end = i + len(name)
        if text[i:end].lower() == name and text[end : end + 1] == ":":
            return end
    return None


def _filter_value(name: str, value: str) -> str | int:
    value = value.strip()
    if not value:
        raise StoreError(f"{name}: needs a value, e.g. {_EXAMPLES[name]}; {SEARCH_HINT}")
    if name != "seed":
        return value.lower()
    try:
        seed = int(value)
    except ValueError:
        raise StoreError(f"seed: takes a whole number, e.g. seed:42 (got {value!r})") from None
    if not -_INT64 <= seed < _INT64:
        raise StoreError(f"seed: {value} is out of range (a 64-bit number)")
    return seed


_EXAMPLES = {"model": "model:sdxl", "backend": "backend:mock", "seed": "seed:42"}


def _term(value: str, quoted: bool, name: str | None) -> Term | None:
    """The term for one token; None when it holds nothing searchable (punctuation only)."""
    if not any(_searchable(c) for c in value):
        return None
    words = value.split()
    if all(_word_char(c) for word in words for c in word):
        kind = Kind.PHRASE if quoted and len(words) > 1 else Kind.WORD
        return Term(" ".join(words), kind, name)
    return Term(value, Kind.LITERAL, name)


def _searchable(char: str) -> bool:
    """Letters, digits, and symbols such as emoji or ©; not punctuation, maths or spaces."""
    category = unicodedata.category(char)
    return category[0] in "LN" or category in ("So", "Co")


def _word_char(char: str) -> bool:
    """A character a word tokenizer keeps inside a word, of a script written with spaces."""
    if unicodedata.category(char)[0] not in "LNM":
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in _UNSPACED)
