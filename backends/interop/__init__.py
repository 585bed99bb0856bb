"""Read the recipes other image tools (and we) embed in image files.

    read_recipe(path) -> Recipe     every reader behind one call; never raises
    image_info(path) -> (mime, w, h) from the header, pixels never decoded

One module per format: `a1111` (parse and format infotext), `exif` (UserComment), `pngtext`
(PNG text chunks), `comfy_graph` (API `prompt` graphs), `comfy_workflow` (UI `workflow`
chunks), `fooocus`, `swarmui`, `invokeai`, `novelai`. Nothing here imports Textual.
Names load on first use (PEP 562): writing our own PNG chunks must not import every reader.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .header import image_info
    from .reader import read_recipe
    from .recipe import SOURCES, Lora, Recipe

_EXPORTS = {
    "image_info": ".header",
    "read_recipe": ".reader",
    "SOURCES": ".recipe",
    "Lora": ".recipe",
    "Recipe": ".recipe",
}

__all__ = ["SOURCES", "Lora", "Recipe", "image_info", "read_recipe"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
