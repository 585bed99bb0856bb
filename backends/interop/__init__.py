"""Read the recipes other image tools (and we) embed in image files.

    read_recipe(path) -> Recipe     every reader behind one call; never raises
    image_info(path) -> (mime, w, h) from the header, pixels never decoded

One module per format: `a1111` (parse and format infotext), `exif` (UserComment), `pngtext`
(PNG text chunks), `comfy_graph` (API `prompt` graphs), `comfy_workflow` (UI `workflow`
chunks), `fooocus`, `swarmui`, `invokeai`, `novelai`. Nothing here imports Textual.
"""

from .header import image_info
from .reader import read_recipe
from .recipe import SOURCES, Lora, Recipe

__all__ = ["SOURCES", "Lora", "Recipe", "image_info", "read_recipe"]
