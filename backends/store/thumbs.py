"""On-disk thumbnail cache keyed by (real path, size, mtime): a hit costs one `stat`, never a read
of the whole image. Rewriting an image in place changes its size or mtime, so it is re-made."""

from __future__ import annotations

import hashlib
import io
import os
from contextlib import suppress
from pathlib import Path

from PIL import Image

from .files import write_bytes_atomic

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


class ThumbCache:
    """Thumbnails under `root/<key[:2]>/<key>-<w>x<h>.png`; key = blake2b of (realpath, size,
    mtime_ns), so a hit never reads the image."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, image: Path, max_w: int, max_h: int) -> Path:
        """Where the thumbnail of `image` at this box size lives (or would); OSError if missing."""
        real = os.path.realpath(image)
        st = os.stat(real)
        ident = f"{real}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape")
        key = hashlib.blake2b(ident, digest_size=20).hexdigest()
        return self.root / key[:2] / f"{key}-{max_w}x{max_h}.png"

    def get(self, image: Path, max_w: int, max_h: int) -> Path:
        """Path of a PNG thumbnail of `image` fitting `max_w`×`max_h` pixels, made on a miss.

        ValueError if the image cannot be read or decoded.
        """
        if max_w < 1 or max_h < 1:
            raise ValueError(f"thumbnail box must be positive, not {max_w}x{max_h}")
        try:
            target = self.path_for(image, max_w, max_h)
            if target.is_file():
                return target
        except OSError as exc:
            raise ValueError(f"cannot read image {image}: {exc.strerror or exc}") from exc
        write_bytes_atomic(target, _render(image, max_w, max_h))
        return target

    def get_image(self, image: Path, max_w: int, max_h: int) -> Image.Image:
        """The thumbnail of `image` as a loaded Pillow image (no file left open)."""
        with Image.open(self.get(image, max_w, max_h)) as thumb:
            return thumb.copy()

    def clear(self) -> int:
        """Delete every cached thumbnail; return how many there were."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for sub in self.root.iterdir():
            if not sub.is_dir() or sub.is_symlink():
                continue
            for file in sub.iterdir():
                if file.suffix in (".png", ".part"):
                    file.unlink(missing_ok=True)
                    removed += file.suffix == ".png"
            with suppress(OSError):  # not empty: something else lives there
                os.rmdir(sub)
        return removed


def _render(image: Path, max_w: int, max_h: int) -> bytes:
    from ..imaging import ImageUnreadable, open_for_display

    try:
        thumb = open_for_display(image, max_w, max_h)
    except ImageUnreadable as exc:
        raise ValueError(f"cannot make a thumbnail of {image}: unreadable image ({exc})") from exc
    out = io.BytesIO()
    thumb.save(out, "PNG")
    return out.getvalue()


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
