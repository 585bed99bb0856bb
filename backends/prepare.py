"""Turning what a user asked for into the per-image requests a backend will run.

`prepare()` is the one place a request is validated, for both faces: every problem comes back
as a `Problem` naming the field ("seed", "width", "negative", "options.quality", "backend",
"style"), so the CLI maps it to a flag and the editor shows it beside the input. Nothing is sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .base import Backend, BackendOptions, Capability
from .errors import ConfigError, ImagenError, RequestError
from .models import MAX_COUNT, MAX_SEED, GenerationRequest, Problem

if TYPE_CHECKING:
    from .config import Config


@dataclass(frozen=True)
class Prepared:
    """A request made ready: one request per image (style applied, seed resolved, size made
    one the backend makes), the total estimated cost in USD (None = unknown), and problems.

    `ok` is True when there is no problem; `readiness` is None when the backend can run now.
    """

    requests: tuple[GenerationRequest, ...]
    backend: str
    cost_usd: float | None
    readiness: str | None
    problems: tuple[Problem, ...]
    user_prompt: str = ""
    user_negative: str = ""
    options: BackendOptions | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = ()
    costs: tuple[float | None, ...] = ()
    """The estimate of each image in USD, in the order of `requests`."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """RequestError listing every problem by field, when there is any."""
        if self.problems:
            raise RequestError([(p.field, p.message) for p in self.problems])


def prepare(config: Config, backend: Backend | None, request: GenerationRequest) -> Prepared:
    """See the module docstring. `backend` is the instance named by the request (None when it
    does not exist: reported as a "backend" problem)."""
    problems = list(request.problems())
    name = request.backend or config.default_backend
    if backend is None:
        configured = ", ".join(config.backends)
        problems.append(Problem("backend", f"unknown backend {name!r}; configured: {configured}"))
        return Prepared((), name, None, None, tuple(problems), request.prompt, request.negative)
    _references(request, problems)
    styled = _styled(config, request, problems)
    options = _options(backend, request, problems)
    _capabilities(backend, request, problems)
    if options is None:
        return Prepared((), name, None, backend.readiness(), tuple(problems), request.prompt,
                        request.negative, options)  # fmt: skip
    requests = _per_image(backend, styled.replace(backend=name), options, problems)
    if problems:  # every problem at once, the backend's own (sizes, counts) included
        return Prepared((), name, None, backend.readiness(), tuple(problems), request.prompt,
                        request.negative, options)  # fmt: skip
    costs = tuple(backend.estimate_cost(one, options) for one in requests)
    cost = None if None in costs else round(sum(c for c in costs if c is not None), 6)
    notes = tuple(backend.warnings(requests[0], options)) if requests else ()
    return Prepared(tuple(requests), name, cost, backend.readiness(), tuple(problems),
                    request.prompt, request.negative, options, notes, costs)  # fmt: skip


def _styled(
    config: Config, request: GenerationRequest, problems: list[Problem]
) -> GenerationRequest:
    if not request.style:
        return request
    try:
        style = config.style(request.style)
    except ConfigError as exc:
        problems.append(Problem("style", exc.message))
        return request
    negative = ", ".join(p for p in (style.negative, request.negative) if p)
    return request.replace(prompt=style.apply(request.prompt), negative=negative)


def _references(request: GenerationRequest, problems: list[Problem]) -> None:
    """Each reference must be a readable PNG/JPEG/WebP/GIF of a sane size (read from its header:
    a decompression bomb is refused without decoding it)."""
    from .imageheader import read_header
    from .models import MAX_REFERENCE_PIXELS
    from .text import not_utf8

    for path in request.references:
        undecodable = not_utf8(str(path))
        if undecodable:  # its name goes into the sidecar and the PNG's text chunk
            problems.append(Problem("references", f"{str(path)!r}: {undecodable}; rename the file"))
            continue
        try:
            if not path.is_file():
                problems.append(Problem("references", f"{path} is not a regular file"))
                continue
            header = read_header(path)
        except OSError as exc:
            problems.append(Problem("references", f"{path} cannot be read: {exc.strerror}"))
            continue
        if header is None:
            problems.append(Problem("references", f"{path} is not an image (PNG, JPEG, WebP, GIF)"))
        elif header.width * header.height > MAX_REFERENCE_PIXELS:
            mp = header.width * header.height / 1e6
            problems.append(Problem("references", f"{path} is {mp:.0f} megapixels; at most 100"))


def _options(
    backend: Backend, request: GenerationRequest, problems: list[Problem]
) -> BackendOptions | None:
    if not request.options:
        return backend.options
    from .options import merge

    try:
        return merge(type(backend), backend.options, request.options)
    except RequestError as exc:
        problems += [Problem(name, message) for name, message in exc.fields]
        return None


def _capabilities(backend: Backend, request: GenerationRequest, problems: list[Problem]) -> None:
    caps = backend.capabilities
    what = f"backend {backend.name!r} ({backend.type_name})"
    checks: list[tuple[bool, str, str]] = [
        (bool(request.negative) and Capability.NEGATIVE not in caps, "negative",
         "takes no negative prompt"),
        (bool(request.references) and Capability.REFERENCES not in caps, "references",
         "takes no reference images"),
        (request.steps is not None and Capability.STEPS not in caps, "steps", "takes no steps"),
        (request.seed is not None and Capability.SEED not in caps, "seed", "takes no seed"),
    ]  # fmt: skip
    for failed, name, why in checks:
        if failed:
            problems.append(Problem(name, f"{what} {why}; leave it empty or choose another"))


def _per_image(
    backend: Backend, request: GenerationRequest, options: BackendOptions, problems: list[Problem]
) -> list[GenerationRequest]:
    """One request per image, seeds settled now so retry, resume and re-run reproduce it.
    A count outside 1..MAX_COUNT is already a problem: no request is built for it (`-n 10**20`
    once built requests until memory ran out)."""
    if not 1 <= request.count <= MAX_COUNT:
        return []
    base = request.seed
    if base is None and Capability.SEED in backend.capabilities:
        base = _random_seed()
    out = []
    for index in range(request.count):
        seed = None if base is None else (base + index) % (MAX_SEED + 1)
        one = request.replace(count=1, seed=seed)
        try:
            out.append(backend.normalize(one, options))
        except ImagenError as exc:
            problems.append(Problem("size", exc.detail or exc.message))
            return []
        except (ValueError, TypeError, OSError) as exc:  # values already reported above
            if not problems:
                problems.append(Problem("request", f"{type(exc).__name__}: {exc}"))
            return []
    return out


def _random_seed() -> int:
    """A uniform seed in 0..MAX_SEED from the OS's randomness (MAX_SEED + 1 is 2**32: four
    bytes, no modulo bias; `secrets` would cost its imports for the same thing)."""
    return int.from_bytes(os.urandom(4), "big") % (MAX_SEED + 1)
