"""A plugin's entry point must name a Backend subclass; anything else is a broken type."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from imagen_tui.backends import registry
from imagen_tui.backends.errors import ConfigError


@pytest.fixture
def plugin_points(monkeypatch: pytest.MonkeyPatch) -> dict[str, EntryPoint]:
    """Installed entry points replaced by the test's own, with a fresh load/broken cache."""
    points: dict[str, EntryPoint] = {}
    monkeypatch.setattr(registry, "_entry_points", lambda: points)
    monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.setattr(registry, "_broken", {})
    return points


def test_an_entry_point_to_a_non_class_is_a_broken_type(
    plugin_points: dict[str, EntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugin_points["pi"] = EntryPoint(name="pi", value="math:pi", group=registry.GROUP)
    with pytest.raises(ConfigError, match=r"'math:pi' is not a Backend subclass"):
        registry.backend_type("pi")
    with pytest.raises(ConfigError, match="failed to load"):  # remembered, not retried
        registry.backend_type("pi")
    err = capsys.readouterr().err
    assert err.count("imagen-tui: backend type 'pi' failed to load") == 1


def test_an_entry_point_to_another_class_is_a_broken_type(
    plugin_points: dict[str, EntryPoint],
) -> None:
    plugin_points["path"] = EntryPoint(name="path", value="pathlib:Path", group=registry.GROUP)
    with pytest.raises(ConfigError, match=r"'pathlib:Path' is not a Backend subclass"):
        registry.backend_type("path")
    assert "path" not in registry._loaded


def test_an_entry_point_to_a_backend_loads(plugin_points: dict[str, EntryPoint]) -> None:
    target = "imagen_tui.backends.adapters.mock:MockBackend"
    plugin_points["mock2"] = EntryPoint(name="mock2", value=target, group=registry.GROUP)
    from imagen_tui.backends.adapters.mock import MockBackend

    assert registry.backend_type("mock2") is MockBackend
