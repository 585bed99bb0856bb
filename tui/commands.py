"""Command palette (ctrl+p): every action of the keymap, and every theme.

Provider API: https://textual.textualize.io/guide/command_palette/ (read 2026-11-29). The palette
runs an action on the widget that owns it (the history pane, the job list, or the app), so what the
palette does is exactly what the key does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from imagen_tui.tui import bindings

# Scopes whose actions live on a widget rather than on the app, and that widget's selector.
OWNERS = {bindings.HISTORY: "#history", bindings.JOBS: "#jobs-list", bindings.LISTS: None}
SKIP = {"command_palette"}


class WorkbenchCommands(Provider):
    """One hit per keymap action and per theme."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        keymap = getattr(self.app, "live_keymap", {})
        found: list[tuple[str, Callable[[], object], str]] = []
        for spec in bindings.effective(keymap):
            if spec.id in SKIP or spec.where == bindings.LISTS:
                continue
            title = f"{spec.description} ({spec.where})"
            keys = bindings.display_keys(spec.keys)
            found.append((title, partial(self._run, spec.where, spec.action), f"key: {keys}"))
        for name in sorted(self.app.available_themes):
            found.append((f"Theme: {name}", partial(setattr, self.app, "theme", name), "colours"))
        return found

    async def _run(self, where: str, action: str) -> None:
        selector = OWNERS.get(where)
        if selector is None:
            await self.app.run_action(action)
            return
        target = self.app.screen.query(selector)
        if target:
            await target.first().run_action(action)

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
