"""The `pool` backend: one logical backend over several named local instances (how users
outgrow one GPU).

The pool names its members (`members = ["gpu1", "gpu2"]`: `[backends.<name>]` instances of any
type that implements `Backend.queue_depth`, i.e. `comfyui` and `a1111`). For each job it asks
every member its queue length at once (`probe_timeout_s` each) and sends the job to the least
busy one; a member that does not answer is skipped, remembered as down (shown by `warnings()`
and `probe()`), and asked again for the next job. The load of a member is the larger of what it
reports and the jobs this pool has sent it and not yet seen finish (A1111 cannot count the
requests waiting on its lock), ties going to the member listed first.

The member runs the job with its own options; its progress, previews and remote id flow through.
A remote id is recorded as `<member>:<member's id>`, so a job resumes on the host that has it.
The pool reaches its members through `Backend.instance()`: the engine must `attach()` it.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from .. import registry
from ..base import Backend, BackendOptions, Capability, JobContext
from ..errors import ConfigError, ErrorCode, ImagenError
from ..models import GenerationRequest, ImageResult
from ..schema import bounds, field_error
from ..text import one_line

if TYPE_CHECKING:
    import httpx

REQUEST_CAPABILITIES = (
    (Capability.NEGATIVE, "negative prompt", "negative"),
    (Capability.REFERENCES, "reference images", "references"),
    (Capability.STEPS, "steps", "steps"),
)


class PoolOptions(BackendOptions):
    """Options of a pool of local instances."""

    members: list[str] = field(metadata=bounds(min_length=1))
    """Names of the [backends.<name>] instances (comfyui or a1111) to spread jobs over."""

    max_concurrent: int = field(default=4, metadata=bounds(ge=1, le=64))
    """Jobs the whole pool runs at once (members still run theirs one by one)."""
    timeout_s: float = field(default=900.0, metadata=bounds(gt=0))
    """Give up on one image after this many seconds (waiting on a busy host included)."""
    probe_timeout_s: float = field(default=3.0, metadata=bounds(gt=0, le=60))
    """How long a member may take to tell its queue length before it counts as down."""

    def __post_init__(self) -> None:
        for name in self.members:
            if not name.strip():
                raise field_error("members", "a member name must not be empty")
            if ":" in name:
                raise field_error(
                    "members", f"member {name!r}: a pool member's name cannot hold ':'"
                )
        if len(set(self.members)) != len(self.members):
            raise field_error("members", "each member may be listed once")


@dataclass(frozen=True, slots=True)
class MemberLoad:
    """One member as last asked: `depth` jobs running or held, or None when it is down."""

    name: str
    depth: int | None
    reason: str = ""
    """Why it counts as down (names its URL), "" when up."""


def pick_member(loads: Sequence[MemberLoad], sent: Mapping[str, int]) -> str | None:
    """The up member with the lowest load, max(reported depth, jobs we sent and still run
    there); ties go to the earliest. None when every member is down."""
    best: tuple[int, int] | None = None
    chosen = None
    for order, load in enumerate(loads):
        if load.depth is None:
            continue
        key = (max(load.depth, sent.get(load.name, 0)), order)
        if best is None or key < best:
            best, chosen = key, load.name
    return chosen


def _member_problem(pool: str, member: str, types: Mapping[str, str]) -> str | None:
    if member == pool:
        return f"pool {pool!r} lists itself"
    if member not in types:
        return f"unknown backend {member!r}; configured: {', '.join(types)}"
    try:
        member_type = registry.backend_type(types[member])
    except ConfigError:  # reported on the member's own table
        return None
    if member_type.queue_depth is Backend.queue_depth:
        return (
            f"member {member!r} is a {types[member]} instance, which cannot report its queue; "
            "members must be comfyui or a1111 instances"
        )
    return None


def split_remote_id(remote_id: str, members: Sequence[str]) -> tuple[str, str] | None:
    """`(member, member's remote id)` from a pool remote id `<member>:<id>` (member names hold
    no colon); None when it names no member of `members`."""
    name, sep, rest = remote_id.partition(":")
    if not sep or not rest or name not in members:
        return None
    return name, rest


class PoolBackend(Backend):
    """Least-busy dispatch over local instances; see the module docstring."""

    type_name = "pool"
    description = (
        "Several comfyui or a1111 instances as one backend: each job goes to the least busy."
    )
    Options = PoolOptions
    capabilities = frozenset(
        {
            Capability.TXT2IMG,
            Capability.REFERENCES,
            Capability.NEGATIVE,
            Capability.SEED,
            Capability.STEPS,
            Capability.PROGRESS,
            Capability.CANCEL,
            Capability.RESUME,
            Capability.PREVIEW,
        }
    )
    needs_http = True

    def __init__(
        self, name: str, options: BackendOptions, env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(name, options, env)
        self._sent: dict[str, int] = {}
        """Jobs this pool sent to each member that have not finished yet."""
        self._down: dict[str, tuple[float, str]] = {}
        """Members seen down: when (epoch seconds) and why."""
        self._dispatched: weakref.WeakKeyDictionary[JobContext, tuple[Backend, JobContext]] = (
            weakref.WeakKeyDictionary()
        )

    # -- members ----------------------------------------------------------------------------

    @classmethod
    def instance_problems(
        cls, name: str, options: BackendOptions, types: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        """Each member that is this pool, unknown, or of a type that cannot report its queue
        (what `members()` refuses when a job comes), as ("members", line) pairs."""
        problems = []
        for member in cast(PoolOptions, options).members:
            problem = _member_problem(name, member, types)
            if problem:
                problems.append(("members", problem))
        return problems

    def members(self, options: BackendOptions | None = None) -> list[Backend]:
        """The member instances, in order. Raises ImagenError(BAD_REQUEST) naming a member that
        is unknown, the pool itself, or of a type that cannot report its queue."""
        opts = cast(PoolOptions, options or self.options)
        found = []
        for name in opts.members:
            if name == self.name:
                raise ImagenError(ErrorCode.BAD_REQUEST, f"pool {self.name!r} lists itself")
            try:
                member = self.instance(name)
            except ConfigError as exc:
                raise ImagenError(
                    ErrorCode.BAD_REQUEST, f"pool {self.name!r}: {exc.message}"
                ) from None
            if type(member).queue_depth is Backend.queue_depth:
                raise ImagenError(
                    ErrorCode.BAD_REQUEST,
                    f"pool {self.name!r}: member {name!r} is a {member.type_name} instance, which "
                    "cannot report its queue; members must be comfyui or a1111 instances",
                )
            found.append(member)
        return found

    async def loads(
        self, http: httpx.AsyncClient, options: BackendOptions | None = None
    ) -> list[MemberLoad]:
        """Ask every member its queue length at once; remember who is down."""
        opts = cast(PoolOptions, options or self.options)
        members = self.members(opts)
        return list(
            await asyncio.gather(*(self._load(m, http, opts.probe_timeout_s) for m in members))
        )

    async def _load(self, member: Backend, http: httpx.AsyncClient, limit: float) -> MemberLoad:
        try:
            async with asyncio.timeout(limit):
                depth = await member.queue_depth(http)
        except ImagenError as exc:
            return self._mark_down(member.name, exc.detail or exc.message)
        except TimeoutError:
            return self._mark_down(member.name, f"no answer within {limit:g}s")
        self._down.pop(member.name, None)
        return MemberLoad(member.name, max(0, int(depth)))

    def _mark_down(self, name: str, reason: str) -> MemberLoad:
        self._down[name] = (time.time(), reason)
        return MemberLoad(name, None, reason)

    # -- before anything is sent --------------------------------------------------------------

    def readiness(self) -> str | None:
        """A member that is missing, of the wrong type or itself not ready (e.g. its key)."""
        try:
            members = self.members()
        except ImagenError as exc:
            return exc.detail
        for member in members:
            problem = member.readiness()
            if problem:
                return f"member {member.name!r}: {problem}"
        return None

    def normalize(self, request: GenerationRequest, options: BackendOptions) -> GenerationRequest:
        """The request as every member makes it; refused naming the first member that cannot
        (its capabilities and sizes), since any member may get the job."""
        try:
            members = self.members(options)
        except ImagenError:
            return request  # reported by readiness(), before anything is sent
        out = request
        for member in members:
            for capability, what, attribute in REQUEST_CAPABILITIES:
                used = getattr(request, attribute)
                if used and capability not in member.capabilities:
                    raise ImagenError(
                        ErrorCode.BAD_REQUEST,
                        f"pool member {member.name!r} ({member.type_name}) takes no {what}",
                    )
            try:
                made = member.normalize(request, member.options)
            except ImagenError as exc:
                raise ImagenError(
                    ErrorCode.BAD_REQUEST, f"pool {self.name!r}: {exc.detail}"
                ) from None
            if member is members[0]:
                out = made
            elif made.size != out.size:
                raise ImagenError(
                    ErrorCode.BAD_REQUEST,
                    f"pool members make {request.size} differently ({members[0].name}: "
                    f"{out.size}, {member.name}: {made.size}); ask for one of those",
                )
        return out

    def warnings(self, request: GenerationRequest, options: BackendOptions) -> list[str]:
        """One line per member last seen down (jobs go to the others)."""
        notes = []
        for name, (when, reason) in self._down.items():
            at = time.strftime("%H:%M:%S", time.localtime(when))
            notes.append(f"pool member {name} was down at {at} ({one_line(reason, 160)})")
        return notes

    def estimate_cost(self, request: GenerationRequest, options: BackendOptions) -> float | None:
        """The dearest member's estimate (None when a member cannot tell)."""
        try:
            members = self.members(options)
        except ImagenError:
            return None
        costs = [m.estimate_cost(request, m.options) for m in members]
        return None if any(c is None for c in costs) else max(cast(list[float], costs))

    async def probe(self, http: httpx.AsyncClient) -> str | None:
        """None when every member answers; else which are down (and whether any is left)."""
        problem = self.readiness()
        if problem:
            return problem
        loads = await self.loads(http)
        down = [f"{load.name} ({load.reason})" for load in loads if load.depth is None]
        if not down:
            return None
        head = "every member is down" if len(down) == len(loads) else "members down"
        return f"{head}: {'; '.join(down)}"

    # -- one job ----------------------------------------------------------------------------

    async def generate(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Send the job to the least busy member that answers."""
        loads = await self.loads(ctx.http, ctx.options)
        chosen = pick_member(loads, self._sent)
        if chosen is None:
            why = "; ".join(f"{load.name}: {load.reason}" for load in loads)
            raise ImagenError(
                ErrorCode.UNAVAILABLE, f"every member of pool {self.name!r} is down ({why})"
            )
        member = next(m for m in self.members(ctx.options) if m.name == chosen)
        return await self._run_on(member, request, ctx, None)

    async def resume(self, request: GenerationRequest, ctx: JobContext) -> ImageResult:
        """Resume on the member named in the remote id; that host has the job."""
        opts = cast(PoolOptions, ctx.options)
        parts = split_remote_id(ctx.remote_id or "", opts.members)
        if parts is None:
            raise ImagenError(
                ErrorCode.INTERNAL,
                f"pool {self.name!r} cannot resume {one_line(ctx.remote_id, 80)!r}: "
                f"no member of {', '.join(opts.members)} has it",
            )
        name, remote_id = parts
        member = next(m for m in self.members(opts) if m.name == name)
        if Capability.RESUME not in member.capabilities:
            raise ImagenError(ErrorCode.INTERNAL, f"pool member {name!r} cannot resume jobs")
        return await self._run_on(member, request, ctx, remote_id)

    async def cancel(self, ctx: JobContext) -> None:
        """Ask the member that has this job to stop it."""
        dispatched = self._dispatched.get(ctx)
        if dispatched is None:
            return
        member, member_ctx = dispatched
        if Capability.CANCEL in member.capabilities:
            await member.cancel(member_ctx)

    async def _run_on(
        self, member: Backend, request: GenerationRequest, ctx: JobContext, remote_id: str | None
    ) -> ImageResult:
        name = member.name
        member_ctx = _member_context(member, ctx, remote_id)
        self._dispatched[ctx] = (member, member_ctx)
        self._sent[name] = self._sent.get(name, 0) + 1
        ctx.progress(0.0, f"{name}: sent")
        try:
            if remote_id is not None:
                result = await member.resume(request, member_ctx)
            else:
                result = await member.generate(request, member_ctx)
        except ImagenError as exc:
            if exc.code is ErrorCode.UNAVAILABLE:
                self._mark_down(name, exc.detail or exc.message)
            raise
        finally:
            self._sent[name] -= 1
        result.metadata = {**result.metadata, "pool": self.name, "pool_member": name}
        return result


def _member_context(member: Backend, ctx: JobContext, remote_id: str | None) -> JobContext:
    """A context for the member: its own options; progress, previews and remote ids relayed."""
    name = member.name

    def progress(fraction: float, message: str) -> None:
        ctx.progress(fraction, f"{name}: {message}" if message else name)

    def record(member_remote_id: str) -> asyncio.Future[None]:
        return asyncio.ensure_future(ctx.set_remote_id(f"{name}:{member_remote_id}"))

    return JobContext(
        ctx.job_id,
        member.options,
        on_progress=progress,
        on_remote_id=record,
        on_preview=ctx.preview,
        http=lambda: ctx.http,
        remote_id=remote_id,
    )
