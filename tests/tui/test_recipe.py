"""Copy as command: the shell line parses back, through a shell and our parser, to the request."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from imagen_tui.backends import GenerationRequest
from imagen_tui.tui.cli import build_parser
from imagen_tui.tui.recipe import once_argv, once_command

NASTY = "-a \"fox\" in 'snow'; $(rm -rf ~) `id` #{pane} \\ & | > *\nsecond line;"


def parse(line: str):  # noqa: ANN201
    argv = shlex.split(line)
    assert argv[0] == "imagen-tui"
    return build_parser().parse_args(argv[1:])


def test_round_trip_through_our_parser(tmp_path: Path) -> None:
    ref = tmp_path / "my ref;.png"
    request = GenerationRequest(
        prompt=NASTY, negative="-blurry; $(x)", width=640, height=448, seed=7, steps=30,
        style="photo", count=3, references=(ref,), backend="other",
        options={"quality": "high", "flag": True},
    )  # fmt: skip
    opts = parse(once_command(request, default_backend="mock"))
    assert opts.once == NASTY
    assert opts.negative == "-blurry; $(x)"
    assert (opts.backend, opts.size, opts.seed, opts.steps) == ("other", "640x448", 7, 30)
    assert (opts.style, opts.count, opts.ref) == ("photo", 3, [str(ref)])
    assert opts.options == ["flag=true", "quality=high"]


def test_defaults_left_out() -> None:
    argv = once_argv(GenerationRequest(prompt="fox", backend="mock"), default_backend="mock")
    assert argv == ["imagen-tui", "--once=fox", "--size=1024x1024"]


def test_a_real_shell_gives_back_the_same_argv() -> None:
    request = GenerationRequest(prompt=NASTY, negative="it's", seed=1)
    line = once_command(request)
    out = subprocess.run(
        ["sh", "-c", f"printf '%s\\0' {line.split(' ', 1)[1]}"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    assert out.stdout.split("\0")[:-1] == once_argv(request)[1:]
