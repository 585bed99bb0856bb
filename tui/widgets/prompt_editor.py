"""The prompt editor: prompt, negative, backend, size, seed + lock, steps, style, count, refs.

Every change re-reads the form (`editor_form.read_form`) and asks the engine to `prepare` it, which
gives the cost estimate and any problems; each problem is written under its field. Fields the
chosen backend cannot use are disabled, with the reason in their place.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Static, TextArea

from imagen_tui.tui.bindings import key_label
from imagen_tui.tui.editor_form import (
    COMMON_SIZES,
    CUSTOM,
    FieldProblem,
    FormValues,
    read_form,
)
from imagen_tui.tui.text import safe
from imagen_tui.tui.ui_state import PromptHistory
from imagen_tui.tui.widgets.choice import Choice
from imagen_tui.tui.widgets.prompt_inputs import PromptArea, SafeInput

CAPABILITY_FIELDS = {"negative": "negative", "seed": "seed", "steps": "steps"}
CAPABILITY_FIELDS["references"] = "references"
FIELD_CELLS = 23  # a field: label (8) + room for a value such as "‹1024x1024›" or a seed
MAX_FIELD_COLUMNS = 4
ESTIMATE_DELAY = 0.15  # seconds of quiet before the form is re-checked and priced
FIELDS = ("prompt", "negative", "backend", "size", "seed", "steps", "style", "count", "references")


def _field(label: str, widget: Any, name: str) -> Vertical:
    return Vertical(
        Horizontal(Label(label, classes="field-label"), widget, classes="field-row"),
        Static("", id=f"problem-{name}", classes="field-problem", markup=False),
        classes="field",
        id=f"field-{name}",
    )


class PromptEditor(Vertical):
    """The form. `context` gives backends, styles, the default backend and `prepare`."""

    class Changed(Message):
        """The form changed; `request_kwargs` is what would be sent (problems aside)."""

    def __init__(
        self,
        history: PromptHistory,
        *,
        id: str | None = None,  # noqa: A002 (Textual's signature)
    ) -> None:
        super().__init__(id=id)
        self.backends: dict[str, Any] = {}
        self.style_names: list[str] = []
        self.default_backend = ""
        self.prepare: Callable[[Any], Any] | None = None
        self.prompt_history = history
        self.problems: list[Any] = []
        self.cost_usd: float | None = None
        self.attempted = False  # an empty prompt is only a problem once the user tried to send
        self._estimate_timer: Timer | None = None
        self.ready = asyncio.Event()  # set once every field is mounted
        self.keymap: dict[str, str] = {}  # the live keymap's overrides (placeholders name keys)

    def configure(
        self,
        backends: list[Any],
        styles: list[str],
        default_backend: str,
        prepare: Callable[[Any], Any] | None,
    ) -> None:
        """What the engine offers; mounts the option fields (the prompt works before this)."""
        self.backends = {b.name: b for b in backends}
        self.style_names = list(styles)
        self.default_backend = default_backend if default_backend in self.backends else ""
        if not self.default_backend and backends:
            self.default_backend = backends[0].name
        self.prepare = prepare
        self.call_after_refresh(self._mount_fields)

    def _prompt_placeholder(self) -> str:
        return f"Describe the image… ({key_label(self.keymap, 'generate')} generates, ↑ recalls)"

    def _refs_placeholder(self) -> str:
        return f"image paths ({key_label(self.keymap, 'history.reference')} adds from history)"

    def show_keys(self, keymap: dict[str, str]) -> None:
        """Name the live keys in the placeholders (the config's `[keys]` may remap them)."""
        self.keymap = dict(keymap)
        self.query_one("#prompt", TextArea).placeholder = self._prompt_placeholder()
        for refs in self.query("#references").results(Input):
            refs.placeholder = self._refs_placeholder()

    def compose(self) -> ComposeResult:
        yield PromptArea(
            self.prompt_history,
            id="prompt",
            soft_wrap=True,
            tab_behavior="focus",
            placeholder=self._prompt_placeholder(),
        )
        yield Static("", id="problem-prompt", classes="field-problem", markup=False)
        yield Grid(id="fields")
        yield Vertical(id="refs-slot")
        yield Static("", id="cost", markup=False)

    def on_resize(self, event: Resize) -> None:
        """As many field columns as leave each field `FIELD_CELLS` wide (1 to 4)."""
        columns = max(1, min(MAX_FIELD_COLUMNS, event.size.width // FIELD_CELLS))
        grid = self.query_one("#fields", Grid)
        if grid.styles.grid_size_columns != columns:
            grid.styles.grid_size_columns = columns
            grid.styles.grid_columns = " ".join(["1fr"] * columns)

    def _fields(self) -> list[Vertical]:
        return [
            _field("Backend", self._backend_select(), "backend"),
            _field("Size", self._size_select(), "size"),
            _field("WxH", SafeInput(id="custom_size", placeholder="WxH", compact=True), "custom"),
            _field("Seed", self._seed_row(), "seed"),
            _field("Steps", SafeInput(id="steps", placeholder="auto", compact=True), "steps"),
            _field("Style", self._style_select(), "style"),
            _field("Count", SafeInput("1", id="count", compact=True), "count"),
            _field("Neg.", self._negative(), "negative"),
        ]

    def _negative(self) -> SafeInput:
        return SafeInput(id="negative", placeholder="avoid…", compact=True)

    def _refs(self) -> Vertical:
        refs = SafeInput(id="references", placeholder=self._refs_placeholder(), compact=True)
        return _field("Refs", refs, "references")

    def _backend_select(self) -> Choice:
        options = [(self._backend_label(b), name) for name, b in self.backends.items()]
        return Choice(options, id="backend", value=self.default_backend or None)

    def _backend_label(self, info: Any) -> Text:
        if info.readiness:
            return Text(f"{safe(info.name)} (not ready)")
        return Text(safe(info.name))

    def _size_select(self) -> Choice:
        return Choice([(s, s) for s in self._sizes(self.default_backend)], id="size")

    def _sizes(self, backend: str) -> list[str]:
        info = self.backends.get(backend)
        presets = list(getattr(info, "sizes", ()) or COMMON_SIZES)
        return [*presets, CUSTOM]

    def _seed_row(self) -> Horizontal:
        return Horizontal(
            SafeInput(id="seed", placeholder="random", compact=True, restrict=r"\d*"),
            Checkbox("lock", id="seed_lock", compact=True),
            id="seed-row",
        )

    def _style_select(self) -> Choice:
        options = [(Text("none"), ""), *((Text(safe(s)), s) for s in self.style_names)]
        return Choice(options, id="style")

    async def _mount_fields(self) -> None:
        await self.query_one("#fields", Grid).mount_all(self._fields())
        await self.query_one("#refs-slot", Vertical).mount(self._refs())
        if not self.query("#size"):
            return  # the app closed while mounting
        self._apply_backend(self.default_backend)
        self.refresh_estimate()
        self.ready.set()

    # -- reading --------------------------------------------------------------------------

    def values(self) -> FormValues:
        """The raw form."""
        return FormValues(
            prompt=self.query_one("#prompt", TextArea).text,
            negative=self.query_one("#negative", Input).value,
            backend=str(self.query_one("#backend", Choice).value),
            size=str(self.query_one("#size", Choice).value),
            custom_size=self.query_one("#custom_size", Input).value,
            seed=self.query_one("#seed", Input).value,
            steps=self.query_one("#steps", Input).value,
            style=self.query_one("#style", Choice).value,
            count=self.query_one("#count", Input).value,
            references=self.query_one("#references", Input).value,
            disabled=self._disabled_fields(),
        )

    def _disabled_fields(self) -> set[str]:
        info = self.backends.get(str(self.query_one("#backend", Choice).value))
        caps = set(getattr(info, "capabilities", ()) or ())
        return {name for cap, name in CAPABILITY_FIELDS.items() if info and cap not in caps}

    def read(self) -> tuple[dict[str, Any], list[Any]]:
        """Request keyword arguments and every problem (form first, then the engine's)."""
        kwargs, problems = read_form(self.values())
        info = self.backends.get(kwargs["backend"])
        if info is not None and info.readiness:
            problems.append(FieldProblem("backend", safe(info.readiness)))
        return kwargs, problems

    # -- showing --------------------------------------------------------------------------

    def show_problems(self, problems: list[Any]) -> None:
        """Write each problem under its field; clear the others."""
        self.problems = list(problems)
        by_field: dict[str, list[str]] = {}
        for problem in problems:
            name = "custom" if problem.field == "size" and self._custom() else problem.field
            by_field.setdefault(name if name in (*FIELDS, "custom") else "prompt", []).append(
                safe(problem.message)
            )
        disabled = self._disabled_fields()
        for name in (*FIELDS, "custom"):
            if name not in disabled:
                self._set_problem(name, "; ".join(by_field.get(name, [])))

    def _set_problem(self, name: str, text: str, *, hint: bool = False) -> None:
        """Write under one field; a no-op when nothing changed (an update costs a layout)."""
        widget = self.query_one(f"#problem-{name}", Static)
        if str(widget.content) == text and widget.has_class("-hint") == hint:
            return
        widget.update(text)
        widget.set_class(bool(text), "-shown")
        widget.set_class(hint, "-hint")

    def show_cost(self, cost_usd: float | None, count: int) -> None:
        self.cost_usd = cost_usd
        label = "unknown" if cost_usd is None else f"${cost_usd:.4f}"
        images = f"{count} image" + ("s" if count != 1 else "")
        self.query_one("#cost", Static).update(f"Estimate: {label} for {images}", layout=False)

    def _custom(self) -> bool:
        return str(self.query_one("#size", Choice).value) == CUSTOM

    # -- reacting -------------------------------------------------------------------------

    @on(TextArea.Changed)
    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event: Message) -> None:
        self.schedule_estimate()

    def schedule_estimate(self) -> None:
        """Re-validate once typing pauses (`ESTIMATE_DELAY`), not on every key."""
        if self._estimate_timer is not None:
            self._estimate_timer.stop()
        self._estimate_timer = self.set_timer(ESTIMATE_DELAY, self.refresh_estimate)

    @on(Choice.Changed)
    def _select_changed(self, event: Choice.Changed) -> None:
        if not self.ready.is_set():
            return
        if event.choice.id == "backend":
            self._apply_backend(str(event.value))
        self.query_one("#field-custom").set_class(not self._custom(), "-inactive")
        self.query_one("#custom_size", Input).disabled = not self._custom()
        self.refresh_estimate()

    def _apply_backend(self, name: str) -> None:
        """Offer `name`'s sizes; disable the fields it cannot use, saying why."""
        size = self.query_one("#size", Choice)
        current = str(size.value)
        sizes = self._sizes(name)
        size.set_options([(s, s) for s in sizes])
        size.value = current if current in sizes else sizes[0]
        disabled = self._disabled_fields()
        for cap, field in CAPABILITY_FIELDS.items():
            off = field in disabled
            for widget in self.query_one(f"#field-{field}").query("Input, Checkbox"):
                widget.disabled = off
            self._set_problem(field, f"{safe(name)} cannot use {cap}" if off else "", hint=off)
        custom = self._custom()
        self.query_one("#custom_size", Input).disabled = not custom
        self.query_one("#field-custom").set_class(not custom, "-inactive")

    def refresh_estimate(self) -> None:
        """Validate and price the current form; show both."""
        if not self.ready.is_set():
            return  # the fields are not mounted yet; _mount_fields calls this again
        kwargs, problems = self.read()
        if not self.attempted:
            problems = [p for p in problems if p.field != "prompt"]
        # Price the settings even before a prompt is typed.
        priced = dict(kwargs, prompt=kwargs["prompt"] or "draft")
        prepared = self._prepare(priced) if not problems else None
        if prepared is not None:
            problems += list(prepared.problems)
            self.show_cost(prepared.cost_usd, kwargs.get("count", 1))
        else:
            self.show_cost(None, kwargs.get("count", 1))
        self.show_problems(problems)

    def _prepare(self, kwargs: dict[str, Any]) -> Any:
        if self.prepare is None:
            return None
        try:
            return self.prepare(kwargs)
        except Exception as exc:  # the estimate must never take the editor down
            return _Failed(f"cannot check these settings: {exc}")

    # -- writing --------------------------------------------------------------------------

    def load(self, request: Any, *, reference: Path | None = None) -> None:
        """Fill the form from a request (history `e`), optionally adding an image (`E`)."""
        self.query_one("#prompt", TextArea).load_text(request.prompt)
        self.query_one("#negative", SafeInput).set_text(request.negative or "")
        if request.backend in self.backends:
            self.query_one("#backend", Choice).value = request.backend
            self._apply_backend(request.backend)
        self._set_size(f"{request.width}x{request.height}")
        self.query_one("#seed", Input).value = "" if request.seed is None else str(request.seed)
        self.query_one("#steps", Input).value = "" if request.steps is None else str(request.steps)
        style = self.query_one("#style", Choice)
        style.value = request.style if request.style in self.style_names else ""
        self.query_one("#count", Input).value = str(request.count)
        refs = [str(r) for r in request.references]
        if reference is not None:
            refs.append(str(reference))
        self.query_one("#references", SafeInput).set_text(shlex.join(refs))

    def _set_size(self, size: str) -> None:
        select = self.query_one("#size", Choice)
        if size in self._sizes(str(self.query_one("#backend", Choice).value)):
            select.value = size
        else:
            select.value = CUSTOM
            self.query_one("#custom_size", Input).value = size

    def add_reference(self, path: Path) -> None:
        refs = self.query_one("#references", Input)
        refs.value = (refs.value + " " + shlex.quote(str(path))).strip()

    def after_submit(self, prompt: str, jobs: list[Any]) -> None:
        """Record the prompt; keep the seed if locked (filling in the one used), else clear it."""
        self.prompt_history.add(prompt)
        self.attempted = False
        seed = self.query_one("#seed", Input)
        if self.query_one("#seed_lock", Checkbox).value:
            if not seed.value and jobs and jobs[0].seed is not None:
                seed.value = str(jobs[0].seed)
        else:
            seed.value = ""


class _Failed:
    """A stand-in `Prepared` when `prepare` itself raised."""

    def __init__(self, message: str) -> None:
        self.problems = [FieldProblem("prompt", message)]
        self.cost_usd = None
