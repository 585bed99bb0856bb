"""Automatic1111 / Forge / SD.Next "infotext": parse it and write it.

The shape (A1111 `modules/infotext_utils.py`, `parse_generation_parameters` and
`create_infotext`, https://github.com/AUTOMATIC1111/stable-diffusion-webui, read 2026-11-29):

    prompt lines…
    Negative prompt: negative lines…
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: 0123abcd
    Template: …            (extensions such as Dynamic Prompts add lines after the settings)

Settings are `Key: value` pairs joined by ", "; a value holding `,`, `:` or a newline is a
JSON string in double quotes. Extensions also write unquoted JSON (`Civitai resources: [...]`).
Unlike A1111's regex, the settings line here is found by scanning up from the end (so trailing
`Template:` lines are kept as their own fields, not glued to the negative prompt), and it must
consist of pairs with a known key (so `(word:1.2)` weights and `<lora:x:0.8>` tags in a
prompt are never mistaken for settings).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # reading needs the recipe types; writing (every saved PNG) does not
    from .recipe import Fields, Lora

NEGATIVE_PREFIX = "Negative prompt:"
KNOWN_KEYS = frozenset(
    {"Steps", "Sampler", "Seed", "Size", "CFG scale", "Model hash", "Model", "Schedule type",
     "Denoising strength", "Clip skip", "Version", "Backend"}
)  # fmt: skip
_KEY_RE = re.compile(r"[ \t]*(\w[\w \-/.]{0,99}):[ \t]*")  # bounded: no backtracking on huge lines
_QUOTED_RE = re.compile(r'"(?:\\.|[^\\"])*"')
_LINE_KEY_RE = re.compile(r"(\w[\w \-/.]{0,99}):[ \t]?(.*)", re.DOTALL)
_LORA_RE = re.compile(r"<(?:lora|lyco):([^:<>]+)(?::([^:<>]*))?[^<>]*>", re.IGNORECASE)
_MAX_SETTINGS_SCAN = 200  # lines scanned up from the end for the settings line
_MAX_SETTINGS_LINE = 262_144  # a longer line is prompt text (real settings lines stay < 20 kB)
_MAX_JSON_VALUE = 65_536  # longest unquoted JSON value followed bracket by bracket


@dataclass
class Infotext:
    """Parsed infotext: `settings` {key: value} from the settings line, `extra` {key: value}
    from lines after it (a line without `Key:` continues the previous one)."""

    prompt: str = ""
    negative: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


def _bracket_end(line: str, pos: int) -> int | None:
    """Index just past the JSON array/object starting at `pos`, or None if unbalanced."""
    depth, i, end = 0, pos, min(len(line), pos + _MAX_JSON_VALUE)
    while i < end:
        char = line[i]
        if char == '"':
            quoted = _QUOTED_RE.match(line, i)
            if quoted is None:
                return None
            i = quoted.end()
            continue
        depth += (char in "[{") - (char in "]}")
        i += 1
        if depth == 0:
            return i
    return None


def _unquote(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text[1:-1]
    return value if isinstance(value, str) else text


def _value(line: str, pos: int) -> tuple[str, int]:
    """(value, index after it) for the value starting at `pos`."""
    if line.startswith('"', pos) and (quoted := _QUOTED_RE.match(line, pos)):
        after = line.find(",", quoted.end())
        if not line[quoted.end() : len(line) if after < 0 else after].strip():
            return _unquote(quoted.group(0)), quoted.end()
    if pos < len(line) and line[pos] in "[{" and (end := _bracket_end(line, pos)):
        after = line.find(",", end)
        if not line[end : len(line) if after < 0 else after].strip():
            return line[pos:end], end
    end = line.find(",", pos)
    end = len(line) if end < 0 else end
    return line[pos:end].strip(), end


def parse_settings(line: str) -> list[tuple[str, str]] | None:
    """The `Key: value` pairs of a settings line, or None if it does not start with a pair.

    A comma-separated segment without a key (written by sloppy extensions) is appended to the
    previous value, as text. Linear in the length of the line.
    """
    pairs: list[tuple[str, list[str]]] = []
    pos, n = 0, len(line)
    while pos < n:
        match = _KEY_RE.match(line, pos)
        if match is None:
            if not pairs:
                return None
            end = line.find(",", pos)
            end = n if end < 0 else end
            pairs[-1][1].append(line[pos:end].strip())
        else:
            value, end = _value(line, match.end())
            pairs.append((match.group(1).strip(), [value]))
        pos = end + 1 if end < n and line[end] == "," else max(end, pos + 1)
    return [(key, ", ".join(parts)) for key, parts in pairs] or None


def _is_settings(pairs: list[tuple[str, str]] | None, lone: bool) -> bool:
    if not pairs:
        return False
    known = sum(key in KNOWN_KEYS for key, _ in pairs)
    if lone:  # a one-line text is a prompt unless it is clearly settings (A1111: 3+ pairs)
        return known >= 1 and len(pairs) >= 3
    return known >= 1 and (len(pairs) >= 3 or known == len(pairs))


def _find_settings(lines: list[str]) -> tuple[int, dict[str, str]] | None:
    lone = len(lines) == 1
    for index in range(len(lines) - 1, max(-1, len(lines) - 1 - _MAX_SETTINGS_SCAN), -1):
        if lines[index].startswith(NEGATIVE_PREFIX):
            return None  # the settings line never comes before the negative prompt
        if len(lines[index]) > _MAX_SETTINGS_LINE:
            continue
        pairs = parse_settings(lines[index])
        if _is_settings(pairs, lone):
            return index, dict(pairs or ())
    return None


def _trailing(lines: list[str]) -> dict[str, str]:
    extra: dict[str, str] = {}
    key = None
    for line in lines:
        match = _LINE_KEY_RE.fullmatch(line)
        if match and match.group(1) not in extra:
            key = match.group(1).strip()
            extra[key] = match.group(2)
        elif key is not None:
            extra[key] += "\n" + line
        elif line.strip():
            extra["Trailing text"] = (extra.get("Trailing text", "") + "\n" + line).lstrip("\n")
    return extra


def parse_infotext(text: str) -> Infotext:
    """Split A1111 infotext into prompt, negative prompt, settings and trailing extra lines.

    CRLF and CR are read as LF. A text with no settings line is all prompt (and negative
    prompt, if a line starts with "Negative prompt:"). Never raises.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    lines = text.split("\n")
    found = _find_settings(lines)
    out = Infotext()
    if found is not None:
        index, out.settings = found
        out.extra = _trailing(lines[index + 1 :])
        lines = lines[:index]
    split = next((i for i, line in enumerate(lines) if line.startswith(NEGATIVE_PREFIX)), None)
    if split is not None:
        first = lines[split][len(NEGATIVE_PREFIX) :].removeprefix(" ")
        lines, out.negative = lines[:split], "\n".join([first, *lines[split + 1 :]])
    out.prompt = "\n".join(lines)
    return out


def prompt_loras(prompt: str) -> list[Lora]:
    """LoRA/LyCORIS tags in a prompt: `<lora:name:0.8>` → Lora("name", 0.8)."""
    from .recipe import Lora, to_float

    return [Lora(m.group(1), to_float(m.group(2))) for m in _LORA_RE.finditer(prompt[:65_536])]


_FIELD_KEYS = {
    "Steps": "steps", "Seed": "seed", "CFG scale": "cfg", "Sampler": "sampler",
    "Schedule type": "scheduler", "Model": "model", "Model hash": "model_hash",
}  # fmt: skip


def infotext_fields(text: str) -> Fields:
    """Recipe fields from A1111 infotext: settings other than the main ones go to `extra`,
    as do trailing lines (`Template`, `Negative Template`…)."""
    info = parse_infotext(text)
    fields: Fields = {"prompt": info.prompt, "negative": info.negative}
    extra: dict[str, str] = {}
    for key, value in info.settings.items():
        if key in _FIELD_KEYS:
            fields[_FIELD_KEYS[key]] = value
        else:
            extra[key] = value
    fields["extra"] = {**extra, **info.extra}
    fields["loras"] = prompt_loras(info.prompt)
    return fields


def quote(value: Any) -> str:
    """A settings value as A1111 writes it: JSON-quoted if it holds `,` `:` `"` or a newline."""
    text = str(value)
    if any(c in text for c in ',:\n"') or text != text.strip():
        return json.dumps(text, ensure_ascii=False)
    return text


def _line_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def format_infotext(prompt: str, negative: str, settings: Mapping[str, Any]) -> str:
    """A1111 infotext for a prompt, a negative prompt and settings {key: value}.

    Settings whose value is None are left out; keys lose `:`, `,` and newlines. The result
    reads back through `parse_infotext` to the same prompt, negative and values, unless a
    prompt line itself starts with "Negative prompt:" (ambiguous in A1111's format).
    """
    lines = [_line_text(prompt)]
    if negative:
        lines.append(f"{NEGATIVE_PREFIX} {_line_text(negative)}")
    pairs = []
    for key, value in settings.items():
        if value is not None:
            name = re.sub(r"[:,\n\r]", " ", str(key)).strip()
            pairs.append(f"{name}: {quote(_line_text(str(value)))}")
    if pairs:
        lines.append(", ".join(pairs))
    return "\n".join(lines)
