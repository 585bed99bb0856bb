"""What the workbench's first frame costs: imports it does not need stay out of it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json, sys
from imagen_tui.backends import ConfigError
from imagen_tui.tui.app import WorkbenchApp

DEFERRED = ("PIL", "textual_image", "httpx", "pydantic", "sqlite3", "watchfiles")
seen = {}

def no_config():
    raise ConfigError(["stop here: only the first frame is looked at"])

class Probe(WorkbenchApp):
    def on_mount(self):
        super().on_mount()
        seen["gc_while_composing"] = gc.isenabled()

    def on_ready(self):
        super().on_ready()
        seen["gc_after_first_frame"] = gc.isenabled()
        seen["preview"] = type(self.screen.query_one("#preview")).__name__
        seen["loaded"] = sorted(
            m for m in sys.modules
            if m.split(".")[0] in DEFERRED
            or m.startswith(("imagen_tui.backends.store", "imagen_tui.tui.widgets.image_preview"))
        )

app = Probe(open_engine=no_config, renderer="halfcell", watch=False,
            state_folder=__import__("pathlib").Path(sys.argv[1]),
            user_theme_folder=__import__("pathlib").Path(sys.argv[1]) / "themes")
app.run(headless=True, size=(160, 48))
seen["config_problems"] = app.config_problems
print(json.dumps(seen))
"""


def test_first_frame_imports_no_picture_store_or_config_code(tmp_path: Path) -> None:
    """PIL, the store, ImagePreview (and pydantic, httpx) load after the first frame, and the
    collector, paused while it is composed, runs again once it is out."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["loaded"] == []
    assert seen["preview"] == "CellPreview"
    assert seen["gc_while_composing"] is False and seen["gc_after_first_frame"] is True
    assert seen["config_problems"] == ["stop here: only the first frame is looked at"]
