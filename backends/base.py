"""The contract every backend type fulfils.

A backend *type* (a subclass of `Backend`) declares its capabilities, the sizes it makes and a
strict `Options` model; the config names *instances* of types, and the engine keeps one `Backend`
object per instance (so connection state such as a websocket client id lives on it). Per-job
options (the instance's, with `-o` overrides merged) reach the adapter as `ctx.options`.
The engine owns scheduling, retries, timeouts, the seed and persistence: an adapter only turns one
`GenerationRequest` (count 1) into one `ImageResult`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, dataclass_transform

from . import option_fields
from .errors import ErrorCode, ImagenError
from .schema import FORBID_EXTRA, bounds, field_error, validate

if TYPE_CHECKING:  # httpx is imported only by backends that speak HTTP
    import httpx

    from .models import GenerationRequest, ImageResult


class Capability(StrEnum):
    TXT2IMG = "txt2img"
    REFERENCES = "references"
    NEGATIVE = "negative"
    SEED = "seed"
    STEPS = "steps"
    PROGRESS = "progress"
    CANCEL = "cancel"
    RESUME = "resume"
    PREVIEW = "preview"


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
@dataclass(kw_only=True)
class BackendOptions:
    """Options every backend instance accepts.

    A subclass adds its own as annotated attributes and becomes a keyword-only dataclass by
    itself (no decorator); bounds go in `field(default=…, metadata=bounds(ge=…))`, checks a
    bound cannot make in `__post_init__` (raise ValueError). `schema.validate` refuses unknown
    keys. Field docs are attribute docstrings, read from source only when shown.
    """

    __pydantic_config__ = FORBID_EXTRA

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__dataclass_fields__" in cls.__dict__:  # `dataclass(slots=True)` rebuilding it
            return
        declared = option_fields.prepare(cls)
        dataclass(kw_only=True)(cls)
        option_fields.finish(cls, declared)

    def __post_init__(self) -> None:
        """Checks a bound cannot make go in a subclass's `__post_init__` (raise ValueError,
        or `schema.field_error` to name the field); calling `super().__post_init__()` is fine."""

    max_concurrent: int = field(default=2, metadata=bounds(ge=1, le=64))
    """How many jobs this instance runs at once."""
    timeout_s: float = field(default=300.0, metadata=bounds(gt=0))
    """Give up on one image after this many seconds."""
    budget_usd_per_day: float | None = field(default=None, metadata=bounds(ge=0))
    """Refuse a job whose estimate would take this instance's spend today past this (USD)."""


class ApiOptions(BackendOptions):
    """Options of every backend that talks to an HTTP API."""

    base_url: str
    """Where the API lives (proxies and self-hosted gateways welcome)."""
    api_key_env: str | None = None
    """Name of the environment variable that holds the key (never the key itself)."""
    model: str | None = None
    """Model to ask for; the type's default when unset."""

    def __post_init__(self) -> None:
        problem = url_problem(self.base_url)
        if problem:
            raise field_error("base_url", problem)
        if isinstance(self.model, str) and not self.model.strip():
            raise field_error("model", "must not be empty; leave it unset for the type's default")
        super().__post_init__()


def url_problem(url: str | None) -> str | None:
    """Why `url` cannot be an API's base URL (not http(s), or no host); None when it can or
    is unset. Caught when the config is read, not as `unavailable` on the first job."""
    if url is None:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return f"{url!r} must start with http:// or https://"
    if not rest.split("/", 1)[0].strip():
        return f"{url!r} names no host, e.g. http://127.0.0.1:7860"
    return None


class JobContext:
    """What the engine hands an adapter for one attempt at one image.

    Call its methods from the adapter's coroutine on the event loop (or, for an inline job,
    from `generate_inline` in its thread).
    """

    def __init__(
        self,
        job_id: str,
        options: BackendOptions | None = None,
        *,
        on_progress: Callable[[float, str], None] | None = None,
        on_remote_id: Callable[[str], Awaitable[None] | None] | None = None,
        on_preview: Callable[[bytes], None] | None = None,
        http: Callable[[], httpx.AsyncClient] | None = None,
        remote_id: str | None = None,
    ) -> None:
        self.job_id = job_id
        self.options = options if options is not None else BackendOptions()
        self.remote_id = remote_id
        self._on_progress = on_progress
        self._on_remote_id = on_remote_id
        self._on_preview = on_preview
        self._http = http

    def preview(self, data: bytes) -> None:
        """Publish a streamed partial image (PNG/JPEG/WebP bytes) as a PREVIEW event."""
        if self._on_preview:
            self._on_preview(data)

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in 0..1 (clamped)."""
        if self._on_progress:
            self._on_progress(min(1.0, max(0.0, fraction)), message)

    def set_remote_id(self, remote_id: str) -> Awaitable[None]:
        """Record the provider's id so a crash can resume instead of paying twice.

        Returns an awaitable that completes once the id is durable in the job log: await it
        before relying on the id (e.g. before submitting a prompt id chosen up front).
        """
        self.remote_id = remote_id
        done = self._on_remote_id(remote_id) if self._on_remote_id else None
        return done if done is not None else _done()

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared HTTP client, created on first use by the engine."""
        if self._http is None:
            raise ImagenError(ErrorCode.INTERNAL, "this backend was given no HTTP client")
        return self._http()


class Backend(ABC):
    """Base class of backend types. Instances are named and configured by the user."""

    type_name: ClassVar[str]
    description: ClassVar[str] = ""
    Options: ClassVar[type[BackendOptions]] = BackendOptions
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TXT2IMG})
    sizes: ClassVar[tuple[str, ...]] = ()
    """Sizes this type makes, as "WxH"; () means any W×H within MIN_SIDE..MAX_SIDE."""
    needs_http: ClassVar[bool] = False

    def __init__(
        self, name: str, options: BackendOptions, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.options = options
        self._env = os.environ if env is None else env

    @classmethod
    def parse_options(cls, raw: Mapping[str, Any]) -> BackendOptions:
        """Validate a `[backends.<name>]` table (minus `type`) into this type's Options.

        Raises pydantic's ValidationError (or ConfigError, from a plugin that checks more)."""
        return validate(cls.Options, dict(raw))

    @classmethod
    def instance_problems(
        cls, name: str, options: BackendOptions, types: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """What is wrong with instance `name` given the other configured instances.

        `types` maps each instance name to its type name ("" when its table is invalid).
        Returns (option, one line) pairs, filed under `backends.<name>.<option>`; [] by
        default. `pool` checks its members here, so `config validate` names their line."""
        return []

    def attach(self, instances: Callable[[str], Backend]) -> None:
        """Let this instance reach the engine's other instances by name (a `pool` needs its
        members). The engine calls it once, right after building the instance; `instances`
        raises ConfigError for an unknown name."""
        self._instances = instances

    def instance(self, name: str) -> Backend:
        """Another configured instance, through the engine that attached this one.

        Raises ConfigError for an unknown name, ImagenError(INTERNAL) when nothing attached it.
        """
        instances: Callable[[str], Backend] | None = getattr(self, "_instances", None)
        if instances is None:
            raise ImagenError(
                ErrorCode.INTERNAL, f"backend {self.name!r} was not attached to an engine"
            )
        return instances(name)

    def api_key(self) -> str | None:
        """The key from the env var named in the options, or None."""
        var = getattr(self.options, "api_key_env", None)
        if not var:
            return None
        return self._env.get(var) or None

    def secrets(self) -> list[str]:
        """Every credential this instance sends (its API key; a login token): the engine cuts
        them out of error and progress messages, even when a provider echoes them back."""
        key = self.api_key()
        return [key] if key else []

    def readiness(self) -> str | None:
        """None when the instance can run; otherwise one line saying what is missing."""
        var = getattr(self.options, "api_key_env", None)
        if var and not self._env.get(var):
            return f"key env var {var} is not set"
        return None

    def require_ready(self) -> None:
        """Raise unless the instance can run: `ImagenError(AUTH_MISSING)` naming the variable
        when its API key is missing, else `ConfigError` with `readiness()`'s reason (a missing
        checkpoint or workflow is a config problem, not a key problem)."""
        problem = self.readiness()
        if not problem:
            return
        var = getattr(self.options, "api_key_env", None)
        if var and not self._env.get(var) and var in problem:
            raise ImagenError(ErrorCode.AUTH_MISSING, f"backend {self.name!r}: {problem}")
        from .errors import ConfigError

        raise ConfigError(f"backend {self.name!r} is not ready: {problem}")

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """The request as this backend will make it: sizes mapped to one it makes.

        The default accepts any size when `sizes` is empty, else exactly one of `sizes`.
        Raises `ImagenError(BAD_REQUEST)` naming the allowed sizes.
        """
        if self.sizes and request.size not in self.sizes:
            allowed = ", ".join(self.sizes)
            raise ImagenError(
                ErrorCode.BAD_REQUEST, f"{self.name} cannot make {request.size}; allowed: {allowed}"
            )
        return request

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        """One-line notes shown before the job is sent, never blocking it (e.g. a model the
        provider retired: gateways may still serve it, so it is never refused)."""
        return []

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        """Estimated cost in USD of one image, or None when unknown."""
        return None

    @abstractmethod
    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Make one image. Raise `ImagenError` for every expected failure."""

    def runs_inline(self, request: GenerationRequest, options: BackendOptions) -> bool:
        """True when this one image is quick local work with nothing to wait for (no network,
        no latency, no retries): the engine may then make it with `generate_inline` in the
        calling thread, without starting an event loop (a headless `--once` saves asyncio's
        ~70 ms start-up). The default is False."""
        return False

    def generate_inline(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Make one image in the calling thread; only called when `runs_inline` said True.
        Raise `ImagenError` for every expected failure."""
        raise ImagenError(ErrorCode.INTERNAL, f"{self.type_name} cannot run a job inline")

    async def probe(self, http: httpx.AsyncClient) -> str | None:
        """Live readiness: like `readiness()`, but may ask the server (e.g. list its models).

        None when the instance answers and can run; else one line saying what is wrong (an
        unreachable server names its URL). Never raises an expected failure.
        """
        return self.readiness()

    async def queue_depth(self, http: httpx.AsyncClient) -> int:
        """How many jobs the host is running or holding (>= 0), asked now; `pool` sends each
        job to the member with the fewest. Local types (comfyui, a1111) override it.

        Raises ImagenError(UNAVAILABLE) naming the URL when the host is down, and
        ImagenError(INTERNAL) for a type that cannot tell (this default).
        """
        raise ImagenError(ErrorCode.INTERNAL, f"{self.type_name} cannot report its queue")

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the instance holds (connections still closing); the engine calls it
        from `aclose()`."""

    async def cancel(self, ctx: JobContext) -> None:  # noqa: B027 - optional hook
        """Ask the remote side to stop this job. Types with Capability.CANCEL override it."""

    async def resume(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Pick up a job by `ctx.remote_id` after a crash (Capability.RESUME)."""
        raise ImagenError(ErrorCode.INTERNAL, f"{self.type_name} cannot resume jobs")


async def _done() -> None:
    """An already-finished awaitable for contexts without a job log."""
