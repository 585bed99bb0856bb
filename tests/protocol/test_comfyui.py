"""The comfyui adapter against a fake ComfyUI on 127.0.0.1 (HTTP + websocket, recorded shapes)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from imagen_tui.backends.adapters.comfyui import ComfyUIBackend
from imagen_tui.backends.base import JobContext
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import GenerationRequest, ImageResult
from tests.fakes.comfyui import CHECKPOINTS, FakeComfyUI, png_bytes
from tests.fakes.server import FakeServer, Reply, running

RECORDED = Path(__file__).parents[1] / "fakes/recorded/comfyui"


def backend(url: str, **options: Any) -> ComfyUIBackend:
    opts = ComfyUIBackend.parse_options({"base_url": url, "checkpoint": CHECKPOINTS[0], **options})
    return ComfyUIBackend("gpu", opts)


def req(**fields: Any) -> GenerationRequest:
    return GenerationRequest(
        **{"prompt": "a red fox", "width": 512, "height": 512, "seed": 7, **fields}
    )


@dataclass
class Seen:
    """What the adapter told its JobContext, in order."""

    progress: list[tuple[float, str]] = field(default_factory=list)
    remote_ids: list[str] = field(default_factory=list)
    previews: list[bytes] = field(default_factory=list)
    posts_at_remote_id: list[int] = field(default_factory=list)


async def call(
    be: ComfyUIBackend,
    request: GenerationRequest,
    seen: Seen,
    server: FakeServer,
    *,
    method: str = "generate",
    remote_id: str | None = None,
) -> ImageResult:
    def on_remote_id(remote_id: str) -> None:
        seen.remote_ids.append(remote_id)
        seen.posts_at_remote_id.append(len(server.requests_to("POST", "/prompt")))

    async with httpx.AsyncClient(timeout=10) as client:
        ctx = JobContext(
            "job1",
            be.options,
            on_progress=lambda f, m: seen.progress.append((f, m)),
            on_remote_id=on_remote_id,
            on_preview=seen.previews.append,
            http=lambda: client,
            remote_id=remote_id,
        )
        try:
            return await getattr(be, method)(request, ctx)
        finally:
            await be.aclose()  # as the engine does: no websocket left closing at loop end


def generate(
    comfy: FakeComfyUI, request: GenerationRequest | None = None, **options: Any
) -> tuple[ImageResult, Seen]:
    seen = Seen()
    result = asyncio.run(
        call(backend(comfy.server.url, **options), request or req(), seen, comfy.server)
    )
    return result, seen


def failure(
    comfy: FakeComfyUI, request: GenerationRequest | None = None, **options: Any
) -> ImagenError:
    with pytest.raises(ImagenError) as info:
        generate(comfy, request, **options)
    return info.value


# --- success and progress --------------------------------------------------------------------


def test_success_sends_the_filled_workflow_and_returns_the_saved_image(comfy: FakeComfyUI) -> None:
    result, seen = generate(comfy, req(negative="blurry", steps=12, width=832, height=1216))
    (post,) = comfy.server.requests_to("POST", "/prompt")
    body = post.json()
    graph = body["prompt"]
    assert graph["sample"]["inputs"]["seed"] == 7 and graph["sample"]["inputs"]["steps"] == 12
    assert graph["latent"]["inputs"]["width"] == 832 and graph["latent"]["inputs"]["height"] == 1216
    assert (
        graph["pos"]["inputs"]["text"] == "a red fox" and graph["neg"]["inputs"]["text"] == "blurry"
    )
    assert graph["ckpt"]["inputs"]["ckpt_name"] == CHECKPOINTS[0]
    # the prompt id is ours, recorded before anything was posted
    assert seen.remote_ids == [body["prompt_id"]] and seen.posts_at_remote_id == [0]
    (ws,) = comfy.server.requests_to("GET", "/ws")
    assert ws.query["clientId"] == body["client_id"]
    assert result.data == png_bytes() and result.mime_type == "image/png"
    assert result.seed == 7 and result.model == CHECKPOINTS[0]
    assert result.metadata["prompt_id"] == body["prompt_id"]
    assert result.metadata["workflow"] == "built-in txt2img template"
    (view,) = comfy.server.requests_to("GET", "/view")
    assert view.query == {"filename": "imagen-tui_00001_.png", "subfolder": "", "type": "output"}


def test_the_fake_speaks_in_the_recorded_order(comfy: FakeComfyUI) -> None:
    """Guard against testing ourselves: the fake's frames follow a real server's recording."""
    recorded = json.loads((RECORDED / "basic.json").read_text())
    graph = recorded["request"]["prompt"]

    async def post() -> str:
        async with httpx.AsyncClient() as client:
            r = await client.post(
                comfy.server.url + "/prompt", json={"prompt": graph, "client_id": "c1"}
            )
            pid = r.json()["prompt_id"]
            while (await client.get(f"{comfy.server.url}/history/{pid}")).json() == {}:
                await asyncio.sleep(0.01)
            return pid

    asyncio.run(post())
    ours = [t for t in comfy.frame_types("c1") if t != "status"]
    theirs = [f["frame"]["type"] for f in recorded["ws"] if f["frame"]["type"] != "status"]
    squash = lambda types: [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]  # noqa: E731
    assert squash(ours) == squash(theirs)


def test_progress_reports_steps_and_previews(comfy: FakeComfyUI) -> None:
    comfy.behaviour.steps, comfy.behaviour.previews = 4, 2
    _, seen = generate(comfy)
    messages = [m for _, m in seen.progress]
    assert messages[0] == "queued" and "started" in messages
    assert [m for m in messages if m.startswith("step")] == [f"step {i}/4" for i in range(1, 5)]
    assert any(m.startswith("node ") and "(KSampler)" in m for m in messages)
    fractions = [f for f, m in seen.progress if m.startswith("step")]
    assert fractions == [0.25, 0.5, 0.75, 0.99]
    assert len(seen.previews) == 2 and all(p.startswith(b"\x89PNG") for p in seen.previews)


def test_without_a_websocket_the_history_is_polled(comfy: FakeComfyUI) -> None:
    comfy.behaviour.websocket = False
    result, seen = generate(comfy, poll_s=0.05)
    assert result.data == png_bytes()
    assert len(comfy.server.requests_to("GET", f"/history/{seen.remote_ids[0]}")) >= 1


def test_reference_images_are_uploaded_and_wired_in(comfy: FakeComfyUI, tmp_path: Path) -> None:
    ref = tmp_path / "ref.png"
    ref.write_bytes(png_bytes((32, 32), "red"))
    flow = {
        "load": {"class_type": "LoadImage", "inputs": {"image": "{{ref0}}"}},
        "enc": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "{{prompt}}", "clip": ["load", 0]},
        },
        "save": {
            "class_type": "SaveImage",
            "inputs": {"images": ["load", 0], "filename_prefix": "edit"},
        },
    }
    template = tmp_path / "img2img.json"
    template.write_text(json.dumps(flow))
    result, _ = generate(comfy, req(references=(ref,)), workflow=str(template))
    (upload,) = comfy.server.requests_to("POST", "/upload/image")
    form = upload.form()
    name, data = form["image"]
    assert data == ref.read_bytes() and name is not None and name.endswith(".png")
    assert form["type"][1] == b"input" and form["overwrite"][1] == b"true"
    graph = comfy.server.requests_to("POST", "/prompt")[0].json()["prompt"]
    assert graph["load"]["inputs"]["image"] == name
    assert result.metadata["workflow"] == str(template) and result.seed is None


# --- failures --------------------------------------------------------------------------------


def test_429_carries_retry_after_then_the_retry_succeeds(comfy: FakeComfyUI) -> None:
    comfy.prompt_failures = [
        Reply(status=429, json={"error": "busy"}, headers={"Retry-After": "1"})
    ]
    be, seen = backend(comfy.server.url), Seen()
    with pytest.raises(ImagenError) as info:
        asyncio.run(call(be, req(), seen, comfy.server))
    assert info.value.code == ErrorCode.RATE_LIMITED and info.value.retry_after == 1.0
    # what the engine does next: the same job again, by the prompt id it logged
    result = asyncio.run(
        call(be, req(), seen, comfy.server, method="resume", remote_id=seen.remote_ids[0])
    )
    assert result.data == png_bytes()
    ids = {r.json()["prompt_id"] for r in comfy.server.requests_to("POST", "/prompt")}
    assert ids == {seen.remote_ids[0]}


def test_400_names_the_node_and_the_bad_value(comfy: FakeComfyUI) -> None:
    err = failure(comfy, checkpoint="missing.safetensors")
    assert err.code == ErrorCode.BAD_REQUEST and err.status == 400 and not err.retryable
    assert (
        "node ckpt (CheckpointLoaderSimple)" in err.detail and "missing.safetensors" in err.detail
    )


def test_recorded_validation_errors_read_clearly() -> None:
    from imagen_tui.backends.http import error_for_response

    for name, words in (
        ("validation-error-missing-input", "node 1 (EmptyImage): Required input is missing: width"),
        ("validation-error-unknown-node", "Cannot execute because node NoSuchNode does not exist"),
    ):
        post = json.loads((RECORDED / f"{name}.json").read_text())["post"]
        response = httpx.Response(
            post["status"],
            content=post["body"].encode(),
            request=httpx.Request("POST", "http://x/prompt"),
        )
        err = error_for_response(response)
        assert err.code == ErrorCode.BAD_REQUEST and words in err.detail


def test_safety_block(comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "safety"
    err = failure(comfy)
    assert err.code == ErrorCode.SAFETY_BLOCKED and "moderation" in err.detail


def test_node_failure_is_final(comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "error"
    err = failure(comfy)
    assert err.code == ErrorCode.BAD_REQUEST and "node sample (KSampler) failed" in err.detail


@pytest.mark.parametrize(
    "payload",
    [png_bytes()[: len(png_bytes()) // 2], png_bytes()[:-12], b"<html>502 Bad Gateway</html>", b""],
    ids=["cut-in-data", "no-IEND", "html", "empty"],
)
def test_truncated_or_non_image_payload_is_no_image(comfy: FakeComfyUI, payload: bytes) -> None:
    comfy.behaviour.image = payload
    err = failure(comfy)
    assert err.code == ErrorCode.NO_IMAGE and "/view" in err.detail


def test_unreachable_server_names_the_url() -> None:
    with running() as server:
        url = server.url
    with pytest.raises(ImagenError) as info:
        asyncio.run(call(backend(url), req(), Seen(), FakeServer()))  # never started
    err = info.value
    assert err.code == ErrorCode.UNAVAILABLE and f"{url}/prompt" in err.detail


def test_a_template_problem_names_the_file(tmp_path: Path, comfy: FakeComfyUI) -> None:
    template = tmp_path / "no-prompt.json"
    template.write_text(json.dumps({"1": {"class_type": "SaveImage", "inputs": {}}}))
    with pytest.raises(ValidationError) as config_error:
        backend(comfy.server.url, workflow=str(template))
    assert str(template) in str(config_error.value) and "{{prompt}}" in str(config_error.value)
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps({"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}}})
    )
    be = backend(comfy.server.url, workflow=str(good))
    good.write_text("{ not json")  # edited after the config was read
    with pytest.raises(ImagenError) as info:
        asyncio.run(call(be, req(), Seen(), comfy.server))
    assert info.value.code == ErrorCode.BAD_REQUEST and str(good) in info.value.detail
    assert comfy.server.requests_to("POST", "/prompt") == []


def test_reference_count_must_match_the_template(comfy: FakeComfyUI, tmp_path: Path) -> None:
    ref = tmp_path / "r.png"
    ref.write_bytes(png_bytes())
    err = failure(comfy, req(references=(ref,)))
    assert err.code == ErrorCode.BAD_REQUEST and "takes 0 reference image(s)" in err.detail


def test_readiness_and_sizes() -> None:
    bare = ComfyUIBackend("gpu", ComfyUIBackend.parse_options({}))
    assert bare.readiness() is not None and "checkpoint" in bare.readiness()  # type: ignore[operator]
    be = backend("http://127.0.0.1:1")
    assert be.readiness() is None
    assert be.normalize(req(width=1000, height=515), be.options).size == "1000x512"
    assert be.normalize(req(width=70, height=64), be.options).size == "72x64"
    assert be.estimate_cost(req(), be.options) == 0.0
    with pytest.raises(ValidationError):
        ComfyUIBackend.parse_options({"base_url": "localhost:8188"})


# --- cancel and resume -----------------------------------------------------------------------


async def until(condition: Any, what: str, limit_s: float = 10.0) -> None:
    """Wait (bounded) until `condition()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)


def run_then_cancel(comfy: FakeComfyUI, wait_for: str) -> tuple[Seen, ComfyUIBackend]:
    """Start a job, wait for `wait_for` ("step" or "queued"), cancel it like the engine does."""
    be, seen = backend(comfy.server.url), Seen()

    async def main() -> None:
        task = asyncio.create_task(call(be, req(), seen, comfy.server))
        await until(lambda: any(m.startswith(wait_for) for _, m in seen.progress), wait_for)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with httpx.AsyncClient() as client:
            ctx = JobContext("job1", be.options, http=lambda: client, remote_id=seen.remote_ids[0])
            await be.cancel(ctx)

    asyncio.run(main())
    return seen, be


def test_cancel_mid_run_interrupts_our_prompt_by_id(comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "hold"
    seen, _ = run_then_cancel(comfy, "step")
    assert comfy.interrupted_ids == seen.remote_ids and comfy.global_interrupts == 0
    (interrupt,) = comfy.server.requests_to("POST", "/interrupt")
    assert interrupt.json() == {"prompt_id": seen.remote_ids[0]}


def test_cancel_of_a_queued_prompt_deletes_it_and_spares_the_running_one(
    comfy: FakeComfyUI,
) -> None:
    comfy.behaviour.outcome = "hold"

    async def foreign() -> str:
        async with httpx.AsyncClient() as client:
            body = {
                "prompt": json.loads((RECORDED / "basic.json").read_text())["request"]["prompt"],
                "client_id": "someone-else",
            }
            body["prompt"]["2"] = {"class_type": "KSampler", "inputs": {"seed": 1}}
            return (await client.post(comfy.server.url + "/prompt", json=body)).json()["prompt_id"]

    other = asyncio.run(foreign())
    seen, _ = run_then_cancel(comfy, "queued")
    assert comfy.deleted_ids == seen.remote_ids
    assert comfy.interrupted_ids == [] and comfy.global_interrupts == 0
    assert comfy.running is not None and comfy.running.prompt_id == other
    comfy.release()


def test_cancel_finds_a_prompt_that_reaches_the_queue_late(comfy: FakeComfyUI) -> None:
    comfy.behaviour.run = False  # prompts stay pending
    be = backend(comfy.server.url)
    graph = json.loads((RECORDED / "basic.json").read_text())["request"]["prompt"]

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            ctx = JobContext("j", be.options, http=lambda: client, remote_id="late-1")
            cancelling = asyncio.create_task(be.cancel(ctx))
            await until(lambda: bool(comfy.server.requests_to("GET", "/queue")), "a first look")
            body = {"prompt": graph, "client_id": "c", "prompt_id": "late-1"}
            await client.post(comfy.server.url + "/prompt", json=body)  # the in-flight POST lands
            await cancelling

    asyncio.run(main())
    assert comfy.deleted_ids == ["late-1"] and comfy.pending == []


def test_queue_depth_counts_running_and_pending(comfy: FakeComfyUI) -> None:
    comfy.behaviour.run = False
    be = backend(comfy.server.url)
    graph = json.loads((RECORDED / "basic.json").read_text())["request"]["prompt"]

    async def main() -> list[int]:
        async with httpx.AsyncClient() as client:
            depths = [await be.queue_depth(client)]
            for _ in range(2):
                await client.post(comfy.server.url + "/prompt", json={"prompt": graph})
            depths.append(await be.queue_depth(client))
            return depths

    assert asyncio.run(main()) == [0, 2]
    with running() as gone:
        url = gone.url

    async def down() -> int:
        async with httpx.AsyncClient() as client:
            return await backend(url).queue_depth(client)

    with pytest.raises(ImagenError) as info:
        asyncio.run(down())
    assert info.value.code == ErrorCode.UNAVAILABLE and url in info.value.detail


def test_cancel_without_a_remote_id_sends_nothing(comfy: FakeComfyUI) -> None:
    async def main() -> None:
        async with httpx.AsyncClient() as client:
            be = backend(comfy.server.url)
            await be.cancel(JobContext("j", be.options, http=lambda: client))

    asyncio.run(main())
    assert comfy.server.requests == []


def test_resume_a_run_still_going_on_the_server(comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "hold"
    be, first, second = backend(comfy.server.url, poll_s=0.05), Seen(), Seen()

    async def main() -> ImageResult:
        crashed = asyncio.create_task(call(be, req(), first, comfy.server))
        await until(lambda: any(m.startswith("step") for _, m in first.progress), "a step")
        crashed.cancel()  # the process "dies": no remote cancel
        with pytest.raises(asyncio.CancelledError):
            await crashed
        resumed = asyncio.create_task(
            call(be, req(), second, comfy.server, method="resume", remote_id=first.remote_ids[0])
        )
        await until(lambda: bool(second.progress), "resume reports")
        await asyncio.to_thread(comfy.release)
        return await resumed

    result = asyncio.run(main())
    assert result.data == png_bytes() and result.metadata["prompt_id"] == first.remote_ids[0]
    assert len(comfy.server.requests_to("POST", "/prompt")) == 1
    assert second.progress[0][1] == "running on the server (resumed)"


def test_resume_a_finished_run_fetches_it_without_resubmitting(comfy: FakeComfyUI) -> None:
    result, seen = generate(comfy)
    again = asyncio.run(
        call(
            backend(comfy.server.url),
            req(),
            Seen(),
            comfy.server,
            method="resume",
            remote_id=seen.remote_ids[0],
        )
    )
    assert again.data == result.data
    assert len(comfy.server.requests_to("POST", "/prompt")) == 1


def test_resume_a_prompt_the_server_never_got_submits_it_under_the_same_id(
    comfy: FakeComfyUI,
) -> None:
    result = asyncio.run(
        call(
            backend(comfy.server.url),
            req(),
            Seen(),
            comfy.server,
            method="resume",
            remote_id="lost-1",
        )
    )
    (post,) = comfy.server.requests_to("POST", "/prompt")
    assert post.json()["prompt_id"] == "lost-1" and result.metadata["prompt_id"] == "lost-1"


def test_resume_of_a_failed_run_reports_its_failure(comfy: FakeComfyUI) -> None:
    comfy.behaviour.outcome = "error"
    first = Seen()
    with pytest.raises(ImagenError):
        asyncio.run(call(backend(comfy.server.url), req(), first, comfy.server))
    with pytest.raises(ImagenError) as info:
        asyncio.run(
            call(
                backend(comfy.server.url),
                req(),
                Seen(),
                comfy.server,
                method="resume",
                remote_id=first.remote_ids[0],
            )
        )
    assert info.value.code == ErrorCode.BAD_REQUEST and "KSampler" in info.value.detail
