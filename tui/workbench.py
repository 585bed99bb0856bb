"""Launch the workbench: open the engine, run the app, give back an exit code.

Imports Textual (through `app`), so the headless CLI only imports this to open the workbench.
No textual-image import happens on the way: the preview draws half cells itself, so start-up pays
no terminal probe and loses no keystroke (shared/reference/textual-and-tmux.md §1.2, §2).
"""

from __future__ import annotations

from pathlib import Path

from imagen_tui.backends import ConfigError, Engine


def run_workbench(config_path: str | Path | None = None, *, preview: str | None = None) -> int:
    """Open the engine with `config_path` (None = the usual lookup) and run the workbench.

    `preview` (`on`/`off`, from --preview/--no-preview) overrides the config's preview mode.
    Raises the engine's ConfigError for a bad config (the CLI turns it into exit code 2).
    """
    overrides = {"preview.mode": preview} if preview else None
    from imagen_tui.backends import paths

    from .app import WorkbenchApp
    from .graphics.startup import detect_graphics

    # What the terminal can draw, asked before Textual owns the terminal (bounded; keys typed
    # meanwhile are handed back and replayed). IMAGEN_RENDERER is honoured here; the config's
    # `[preview] renderer` is applied when the engine opens.
    startup = detect_graphics(None, None, paths.state_dir())
    if startup.decision.renderer in ("kitty", "sixel"):  # else half cells: no ImagePreview
        from .widgets.image_preview import ImagePreview

        ImagePreview.configure(startup.decision, startup.cell_px)
    # The engine opens in a thread after the first frame (loading the config costs about as
    # much as importing Textual); a bad config ends the app and is reported here, exit code 2.
    app = WorkbenchApp(open_engine=lambda: Engine.open(config_path, overrides=overrides))
    app.startup_typed, app.startup_advice = startup.typed, startup.advice
    app.run()
    if app.config_problems:
        raise ConfigError(app.config_problems)
    return app.return_code or 0
