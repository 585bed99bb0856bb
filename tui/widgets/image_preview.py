"""`ImagePreview`: the one preview component (history pane, full-screen preview, `view`).

    preview = ImagePreview(renderer="auto")       # or kitty|sixel|halfcell|unicode|off
    preview.show(path_or_pil_image)               # decoded and downscaled in a thread worker

`auto` follows the `Decision` handed to `ImagePreview.configure()` (made before `App.run()` by
`imagen_tui.tui.graphics.probe.gather_facts` + `detect.decide`); without one it draws half-cell
blocks. It is never blank: while a picture is prepared the previous one (or a short notice)
stays, and when kitty or sixel fails it falls back to half-cell blocks and says why once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.dom import NoScreen
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

from imagen_tui.tui.graphics import kitty
from imagen_tui.tui.graphics.detect import RENDERERS, Decision, parse_renderer, printable
from imagen_tui.tui.graphics.fit import DEFAULT_CELL
from imagen_tui.tui.graphics.probe import pane_visible
from imagen_tui.tui.widgets import image_strips
from imagen_tui.tui.widgets.picture import Context, Picture, Source, build_picture

VISIBILITY_POLL = 1.0  # s between tmux checks that the pane is shown (kitty through tmux only)
Writer = Callable[[str], None]  # raw terminal output, in order with Textual's own


class ImagePreview(Widget):
    """Shows one image inside its box with the configured renderer."""

    DEFAULT_CSS = "ImagePreview { width: 1fr; height: 1fr; }"
    renderer: reactive[str] = reactive("auto", init=False)
    decision: ClassVar[Decision | None] = None
    cell_px: ClassVar[tuple[int, int]] = DEFAULT_CELL
    _ids: ClassVar[kitty.ImageIds | None] = None

    class Prepared(Message):
        """A worker finished preparing `picture` (or failed with `error`) for request `token`."""

        def __init__(
            self, token: int, picture: Picture | None, error: str | None,
            seen: tuple[int, bool] | None = None,
        ) -> None:  # fmt: skip
            super().__init__()
            self.token, self.picture, self.error = token, picture, error
            self.seen = seen  # tmux visibility when the picture was made (kitty only)

    @classmethod
    def configure(cls, decision: Decision | None, cell_px: tuple[int, int] | None) -> None:
        """Share one detection result with every preview of the app (call before run())."""
        cls.decision = decision
        cls.cell_px = cell_px or DEFAULT_CELL

    @classmethod
    def decided_renderer(cls) -> str | None:
        """The renderer `auto` resolved to at start-up (None before `configure`)."""
        decision = getattr(cls, "decision", None)
        return decision.renderer if decision is not None else None

    def __init__(
        self,
        source: Source | None = None,
        *,
        renderer: str = "auto",
        writer: Writer | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002  (Textual's name)
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(ImagePreview.renderer, parse_renderer(renderer))
        self._source = source
        self._writer = writer
        self._picture: Picture | None = None
        self._notice = "…"
        self._token = 0
        self._fallback: str | None = None  # why kitty/sixel gave way to half-cells
        self._live_kitty_id: int | None = None
        self._drawn_key: tuple = ()
        self._drawn: list[Strip] = []
        self._seen: tuple[int, bool] | None = None  # tmux: (clients, window active)

    # ---- public ----------------------------------------------------------------------------
    def set_renderer(self, renderer: str) -> None:
        """Switch the renderer setting (the workbench reads its config after the first frame)."""
        self.renderer = renderer

    def show_notice(self, text: str) -> None:
        """Replace the picture with a one-line message (e.g. why it cannot be shown)."""
        self._forget_kitty()
        self._picture, self._notice = None, printable(text)
        self.refresh()

    def show(self, source: Source | None) -> None:
        """Show `source` (a PIL image or a path); None clears to a notice."""
        self._source = source
        if source is None:
            self._picture, self._notice = None, "no image"
            self.refresh()
            return
        self._request()

    @property
    def effective_renderer(self) -> str:
        """The renderer actually drawing: the setting, `auto` resolved, failures applied."""
        chosen = self.renderer
        if chosen == "auto":
            chosen = self.decision.renderer if self.decision else "halfcell"
        if self._fallback and chosen in ("kitty", "sixel"):
            return "halfcell"
        return chosen

    # ---- reactions ---------------------------------------------------------------------------
    def validate_renderer(self, value: str) -> str:
        return parse_renderer(value)

    def watch_renderer(self, _old: str, _new: str) -> None:
        self._fallback = None
        self._request()

    def on_mount(self) -> None:
        self._request()
        if os.environ.get("TMUX_PANE"):
            self.set_interval(VISIBILITY_POLL, self._watch_visibility)

    def on_resize(self) -> None:
        self._request()

    def on_unmount(self) -> None:
        self._forget_kitty()

    # ---- preparing ---------------------------------------------------------------------------
    def _box(self) -> tuple[int, int]:
        width, rows = self.content_size
        if self.effective_renderer == "sixel" and self._touches_screen_bottom():
            rows -= 1  # a picture ending on the last screen row may scroll the screen
        return max(0, width), max(0, rows)

    def _touches_screen_bottom(self) -> bool:
        try:
            return self.content_region.bottom >= self.screen.size.height
        except NoScreen:
            return False

    def _request(self) -> None:
        if not self.is_mounted:
            return
        self._token += 1
        renderer, box = self.effective_renderer, self._box()
        if renderer == "off" or self._source is None or 0 in box:
            self._picture = None
            self._notice = "preview off" if renderer == "off" else self._notice
            self.refresh()
            return
        self._prepare(self._token, self._source, renderer, box, self._build_context())

    def _passthrough(self) -> bool:
        """Wrap kitty commands for tmux: as decided, or whenever kitty is forced inside tmux."""
        if self.decision is not None and self.decision.renderer == "kitty":
            return self.decision.passthrough
        return bool(os.environ.get("TMUX"))

    def _build_context(self) -> Context:
        ids = ImagePreview._ids or kitty.ImageIds()
        ImagePreview._ids = ids
        return Context(
            self.cell_px, self.app.console.color_system, self.rich_style, self._passthrough(), ids
        )

    @work(thread=True, exclusive=True, group="image-preview", exit_on_error=False)
    def _prepare(
        self, token: int, source: Source, renderer: str, box: tuple[int, int], ctx: Context
    ) -> None:
        try:
            picture, error = build_picture(source, renderer, box, ctx), None
        except Exception as exc:  # decoding/encoding failures become a notice, never a crash
            picture, error = None, printable(f"{type(exc).__name__}: {exc}".splitlines()[0])
        seen = None
        if picture is not None and picture.kitty_wire is not None and ctx.passthrough:
            seen = pane_visible(os.environ)  # the baseline for re-sending once shown
        if not get_current_worker().is_cancelled:
            self.post_message(self.Prepared(token, picture, error, seen))

    def on_image_preview_prepared(self, message: Prepared) -> None:
        if message.token != self._token:
            return  # superseded by a newer show/resize
        renderer = self.effective_renderer
        if message.error is not None and renderer in ("kitty", "sixel"):
            self._fall_back(f"{renderer} failed ({message.error})")
            return
        if message.error is not None:
            self._picture, self._notice = None, f"cannot show image: {message.error}"
        else:
            self._picture = message.picture
            self._seen = message.seen
            self._send_kitty(message.picture)
        self.refresh()

    def _fall_back(self, reason: str) -> None:
        if self._fallback is None:
            self.notify(f"Preview: {reason}; showing half-cell blocks.", severity="warning",
                        markup=False)  # fmt: skip
        self._fallback = reason
        self._request()

    # ---- kitty terminal side -------------------------------------------------------------------
    def _write(self, data: str) -> None:
        if self._writer is not None:
            self._writer(data)
            return
        driver = getattr(self.app, "_driver", None)
        if driver is not None and not self.app.is_headless:
            driver.write(data)

    def _send_kitty(self, picture: Picture | None) -> None:
        if picture is None or picture.kitty_wire is None:
            return
        self._forget_kitty()
        self._write(picture.kitty_wire)
        self._live_kitty_id = picture.kitty_id

    def _forget_kitty(self) -> None:
        if self._live_kitty_id is not None:
            delete = kitty.delete_command(self._live_kitty_id)
            self._write(kitty.wire([delete], self._passthrough()))
            self._live_kitty_id = None

    def _watch_visibility(self) -> None:
        if self._live_kitty_id is not None and self._passthrough():
            self._poll_visibility(self._live_kitty_id)

    @work(thread=True, exclusive=True, group="image-preview-visible", exit_on_error=False)
    def _poll_visibility(self, image_id: int) -> None:
        seen = pane_visible(os.environ)
        self.app.call_from_thread(self._visibility_changed, image_id, seen)

    def _visibility_changed(self, image_id: int, seen: tuple[int, bool] | None) -> None:
        before, self._seen = self._seen, seen
        if seen is None or before is None or not seen[1] or not seen[0]:
            return
        shown_now = not before[1] or not before[0] or seen[0] > before[0]
        picture = self._picture
        if shown_now and picture is not None and picture.kitty_id == image_id:
            self._write(picture.kitty_wire or "")  # the terminal missed it: send it again

    # ---- drawing -------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width, rows = self.content_size
        key = (id(self._picture), self._notice, width, rows, self.rich_style)
        if key != self._drawn_key:
            self._drawn_key, self._drawn = key, self._lines(width, rows)
        lines = self._drawn
        return lines[y] if 0 <= y < len(lines) else Strip.blank(width, self.rich_style)

    def _lines(self, width: int, rows: int) -> list[Strip]:
        picture, style = self._picture, self.rich_style
        if picture is None:
            return image_strips.message_strips(self._notice, width, rows, style)
        if picture.sixel is not None:
            try:
                region = self.screen.find_widget(self).visible_region
            except Exception:  # not on screen (yet): nothing to place
                return [Strip.blank(width, style)] * rows
            if picture.box != self._box():
                return [Strip.blank(width, style)] * rows  # resized: a new picture is coming
            return image_strips.sixel_strips(picture.sixel, region.x, region.y, width, rows, style)
        lines = picture.lines or []
        if picture.box == (width, rows):
            return lines
        return [line.crop_extend(0, width, style) for line in lines[:rows]] + [
            Strip.blank(width, style)
        ] * max(0, rows - len(lines))


__all__ = ["RENDERERS", "ImagePreview", "Picture"]
