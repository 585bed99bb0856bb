"""Progress read from a model's logs: tqdm bars and the seed a model reports. Pure.

Replicate (and fal's runners) forward the model's stdout, where diffusion loops print tqdm bars
such as ` 50%|█████     | 2/4 [00:01<00:01,  1.9it/s]`; the last one tells how far the job is
(`shared/reference/providers.md` §3, checked 2026-11-29). flux predictors print
`Using seed: 1234` before sampling.
"""

from __future__ import annotations

import re

_TQDM = re.compile(r"(\d{1,3})%\|[^|\n]*\|\s*(\d+)/(\d+)")
_SEED = re.compile(r"(?:using|random)\s+seed[:=]?\s*(\d{1,20})", re.I)


def tqdm_progress(logs: str | None) -> tuple[float, str] | None:
    """The last tqdm bar in `logs` as (fraction 0..1, "step 2/4"), or None when there is none."""
    if not logs:
        return None
    found = None
    for match in _TQDM.finditer(logs):
        found = match
    if found is None:
        return None
    done, total = int(found.group(2)), int(found.group(3))
    if total <= 0:
        return None
    return min(1.0, done / total), f"step {min(done, total)}/{total}"


def reported_seed(logs: str | None) -> int | None:
    """The seed the model says it used (`Using seed: 1234`), or None."""
    if not logs:
        return None
    match = _SEED.search(logs)
    return int(match.group(1)) if match else None
