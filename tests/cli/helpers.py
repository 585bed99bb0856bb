"""Run the real CLI in a subprocess, as a user or a script would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TIMEOUT_S = 60


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`imagen-tui ARGS` with the test's isolated environment (plus `env`)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "imagen_tui.tui.cli", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=TIMEOUT_S,
    )


def one_line(stderr: str) -> str:
    """The stderr of an expected failure: exactly one line, never a traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {stderr!r}"
    assert "Traceback" not in stderr
    return lines[0]


def write_plugin(root: Path) -> Path:
    """A third-party plugin distribution on disk: a keyed backend type and a broken one."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "keyed_plugin.py").write_text(PLUGIN_SOURCE)
    info = root / "keyed_plugin-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keyed-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[imagen_tui.backends]\n"
        "keyed = keyed_plugin:KeyedBackend\n"
        "broken = keyed_plugin_missing_module:Nope\n"
    )
    return root


PLUGIN_SOURCE = """
import base64
from imagen_tui.backends.base import ApiOptions, Backend, Capability
from imagen_tui.backends.errors import ErrorCode, ImagenError
from imagen_tui.backends.models import ImageResult

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVQI12P4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)

class KeyedOptions(ApiOptions):
    base_url: str = "http://127.0.0.1:9"
    api_key_env: str | None = "KEYED_API_KEY"

class KeyedBackend(Backend):
    type_name = "keyed"
    description = "test plugin that needs a key"
    Options = KeyedOptions
    capabilities = frozenset({Capability.TXT2IMG})

    async def generate(self, request, ctx):
        key = self.api_key()
        if key != "good-key-123":
            raise ImagenError(ErrorCode.AUTH_FAILED, "HTTP 401")
        return ImageResult(data=PNG, seed=request.seed or 1, cost_usd=0.04, model="keyed-1",
                           metadata={"echo": "provider says hi"})
"""
