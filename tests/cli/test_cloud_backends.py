"""`imagen-tui` with the gemini and xai types: options listed, bad input refused unsent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import cli, one_line
from tests.fakes.gemini import FakeGemini
from tests.fakes.server import running
from tests.fakes.xai import FakeXai


@pytest.mark.parametrize(
    ("type_name", "fields"),
    [
        ("gemini", ("aspect_ratio", "image_size", "thinking_level", "GEMINI_API_KEY")),
        ("xai", ("aspect_ratio", "resolution", "quality", "response_format", "XAI_API_KEY")),
    ],
)
def test_backends_type_lists_the_providers_own_option_names(
    type_name: str, fields: tuple[str, ...]
) -> None:
    res = cli("backends", type_name)
    assert res.returncode == 0, res.stderr
    for name in fields:
        assert name in res.stdout


@pytest.mark.parametrize(
    ("type_name", "var", "args", "words"),
    [
        ("gemini", "GEMINI_API_KEY", ("--negative", "blurry"), "takes no negative prompt"),
        ("gemini", "GEMINI_API_KEY", ("--size", "1000x300"), "allowed aspect ratios"),
        ("gemini", "GEMINI_API_KEY", ("-o", "image_size=3K"), "image_size"),
        ("xai", "XAI_API_KEY", ("--seed", "4"), "takes no seed"),
        ("xai", "XAI_API_KEY", ("-o", "size=1024x1024"), "it accepts:"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_sends_nothing(
    isolated_env: dict[str, Path], type_name: str, var: str, args: tuple[str, ...], words: str
) -> None:
    cfg = isolated_env["config"] / "imagen-tui" / "config.toml"
    cfg.parent.mkdir(parents=True)
    with running() as server:
        fake = FakeGemini(server) if type_name == "gemini" else FakeXai(server)
        fake.then(fake.image())
        cfg.write_text(f'[backends.cloud]\ntype = "{type_name}"\nbase_url = "{server.url}/v1"\n')
        res = cli("--once", "a fox", "--backend", "cloud", *args, env={var: "k"})
        requests = list(server.requests)
    assert res.returncode == 2, res.stderr
    assert words in one_line(res.stderr)
    assert requests == []


def test_missing_key_names_the_variable(isolated_env: dict[str, Path]) -> None:
    cfg = isolated_env["config"] / "imagen-tui" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[backends.cloud]\ntype = "xai"\n')
    res = cli("--once", "a fox", "--backend", "cloud")
    assert res.returncode != 0 and "XAI_API_KEY" in one_line(res.stderr)
