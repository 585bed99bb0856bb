"""Naming templates and slugs: where under the output dir an image is written.

`render_name(template, NameFields(...))` gives a clean relative path; `validate_template` lists
what is wrong with a template (the config checks it at load).
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

TEMPLATE_FIELDS: tuple[str, ...] = ("date", "time", "slug", "seed", "backend", "n", "ext")

MAX_COMPONENT_BYTES = 120

# Letters NFKD leaves alone but that have an obvious ASCII spelling.
_TRANSLIT = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
     "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i"}
)  # fmt: skip
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def _slug_core(text: str, max_len: int) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", ascii_text).strip("-")
    if len(slug) <= max_len:
        return slug
    head = slug[:max_len]
    if slug[max_len] != "-":
        cut = head.rfind("-")
        # Cut at a word boundary unless that would throw away more than half.
        if cut >= max_len // 2:
            head = head[:cut]
    return head.rstrip("-")


def slugify(text: str, max_len: int = 40) -> str:
    """Lower-case ASCII `[a-z0-9-]` slug of `text`, at most `max_len` chars, never empty."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, not {max_len}")
    return _slug_core(text, max_len) or "image"[:max_len]


@dataclass(frozen=True)
class NameFields:
    """The values a naming template may use."""

    when: datetime
    slug: str
    seed: int | None
    backend: str
    n: int
    ext: str


def validate_template(template: str) -> list[str]:
    """Problems with a naming template, as short strings; an empty list means it is usable."""
    if not template.strip():
        return ["naming template is empty"]
    problems: list[str] = []
    if template.startswith(("/", "~")):
        problems.append(f"naming template must be a relative path, not {template!r}")
    if ".." in template.split("/"):
        problems.append("naming template must not contain a '..' path component")
    if template.endswith("/"):
        problems.append("naming template must end with a file name, not '/'")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [*problems, f"bad naming template syntax: {exc}"]
    for _, field, spec, conversion in parsed:
        if field is not None:
            problems.extend(_field_problems(field, spec or "", conversion))
    return problems


def _field_problems(field: str, spec: str, conversion: str | None) -> list[str]:
    if field not in TEMPLATE_FIELDS:
        known = ", ".join(f"{{{name}}}" for name in TEMPLATE_FIELDS)
        return [f"unknown placeholder {{{field}}}; known: {known}"]
    if conversion:
        return [f"conversion !{conversion} is not supported in {{{field}}}"]
    if not spec:
        return []
    if field != "n":  # only {n} is always an int, so only it takes a format spec
        return [f"format spec ':{spec}' is only supported for {{n}}, not {{{field}}}"]
    try:
        format(0, spec)
    except ValueError as exc:
        return [f"bad format spec ':{spec}' for {{n}}: {exc}"]
    return []


def _clean_ext(ext: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ext.lower())[:10] or "png"


def _field_value(field: str, spec: str, fields: NameFields) -> str:
    if field == "date":
        return fields.when.strftime("%Y-%m-%d")
    if field == "time":
        return fields.when.strftime("%H%M%S")
    if field == "slug":
        return slugify(fields.slug, MAX_COMPONENT_BYTES)
    if field == "seed":
        return "noseed" if fields.seed is None else str(int(fields.seed))
    if field == "backend":
        return _slug_core(fields.backend, 40) or "backend"
    if field == "n":
        # A fill character in the spec could be anything, '/' included.
        return re.sub(r"[/\\\x00]", "-", format(int(fields.n), spec))
    return _clean_ext(fields.ext)


def _cap_bytes(name: str, limit: int) -> str:
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 10:
        stem, dot, ext = name, "", ""
    room = limit - len((dot + ext).encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip("-. ")
    return f"{stem}{dot}{ext}" if stem else (dot + ext).lstrip(".")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean_component(part: str) -> str:
    # Drop control chars and lone surrogates (unencodable in a file name).
    part = _CONTROL.sub("", part).encode("utf-8", "ignore").decode("utf-8")
    part = part.replace("\\", "-").strip()
    # No hidden files, nothing that reads as a command-line option.
    return _cap_bytes(part.lstrip(".- "), MAX_COMPONENT_BYTES)


def render_name(template: str, fields: NameFields) -> PurePosixPath:
    """Render `template` into a clean relative path; ValueError only for an invalid template."""
    problems = validate_template(template)
    if problems:
        raise ValueError("; ".join(problems))
    pieces: list[str] = []
    used: set[str] = set()
    for literal, field, spec, _ in string.Formatter().parse(template):
        pieces.append(literal)
        if field is not None:
            pieces.append(_field_value(field, spec or "", fields))
            used.add(field)
    rendered = "".join(pieces)
    if "ext" not in used:
        rendered += "." + _clean_ext(fields.ext)
    parts = [_clean_component(p) for p in rendered.split("/")]
    parts = [p for p in parts if p not in ("", ".", "..")]
    if not parts:
        parts = [f"{slugify(fields.slug)}.{_clean_ext(fields.ext)}"]
    return PurePosixPath(*parts)
