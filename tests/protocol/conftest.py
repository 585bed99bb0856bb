"""Protocol tests talk to real loopback servers from `tests/fakes`, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.server import FakeServer, running


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started `FakeServer` on 127.0.0.1; stopped (handlers cancelled) after the test."""
    with running() as server:
        yield server


@pytest.fixture
def comfy(fake_server: FakeServer) -> FakeComfyUI:
    """A fake ComfyUI on a fresh loopback server (its `behaviour` can be changed per test)."""
    return FakeComfyUI(fake_server)
