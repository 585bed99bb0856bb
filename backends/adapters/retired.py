"""Upstream models that were shut down, recognised inside a gateway's model id. Pure.

Replicate and fal host other vendors' models under their own ids (`google/imagen-4`,
`fal-ai/imagen4/preview`, `openai/gpt-image-1`...). When the vendor shuts a model down, the
gateway may still answer for a while, or map it to a successor, so such a model is never refused:
`retired_note()` gives a one-line warning for `Backend.warnings()`.

Shutdown dates: `shared/reference/providers.md` §1 (OpenAI: gpt-image-1 on 2026-10-23, dall-e-2
and dall-e-3 on 2026-05-12) and §2 (Google: every Imagen model on 2026-08-17; the
gemini-3-pro-image-preview and gemini-3.1-flash-image-preview models on 2026-06-25), checked
2026-11-29.
"""

from __future__ import annotations

import re

RETIRED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"imagen-?[34]", re.I), "Google Imagen (shut down 2026-08-17)"),
    (re.compile(r"gpt-image-1(?![.\d]|-mini)", re.I), "OpenAI gpt-image-1 (shut down 2026-10-23)"),
    (re.compile(r"dall-?e-?[23]", re.I), "OpenAI DALL-E (retired 2026-05-12)"),
    (
        re.compile(r"gemini-3(\.1)?-(pro|flash)-image-preview", re.I),
        "a Gemini image preview model (shut down 2026-06-25)",
    ),
)


def retired_note(model: str) -> str | None:
    """ "serves <upstream> ..." when `model` names a model its vendor shut down, else None."""
    for pattern, upstream in RETIRED:
        if pattern.search(model):
            return f"serves {upstream}"
    return None
