"""Keeping an API key out of error messages, even when a provider echoes it back.

Some gateways quote the credential they refused ("Invalid token: r8_abc…"); an error detail
reaches the terminal, the job log and the sidecar-less failure record, so the key is cut out
of every `ImagenError` raised inside `redacting(key)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ImagenError

MASK = "[redacted]"
MIN_SECRET_CHARS = 4
"""Shorter "keys" are not masked: replacing every "ab" would garble messages, not protect."""


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by "[redacted]"."""
    if not secret or len(secret) < MIN_SECRET_CHARS:
        return text
    return text.replace(secret, MASK)


@contextmanager
def redacting(secret: str | None) -> Iterator[None]:
    """Re-raise any `ImagenError` from the block with `secret` masked in its detail.

    Code, `retry_after` and `status` are kept.
    """
    try:
        yield
    except ImagenError as exc:
        clean = redact(exc.detail, secret)
        if clean == exc.detail:
            raise
        raise ImagenError(exc.code, clean, retry_after=exc.retry_after, status=exc.status) from None
