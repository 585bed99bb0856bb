"""Retry policy: exponential backoff with jitter, honouring Retry-After. No I/O here."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_S = 600.0


@dataclass
class RetryPolicy:
    """How often and how long to wait before retrying a retryable failure."""

    retries: int = 3
    """Attempts after the first one."""
    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def should_retry(self, attempt: int) -> bool:
        """`attempt` is the number of attempts made so far (1 after the first)."""
        return attempt <= self.retries

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        backoff = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        jittered = backoff / 2 + self.rng.uniform(0, backoff / 2)
        if retry_after is not None:
            return max(min(retry_after, MAX_RETRY_AFTER_S), jittered)
        return jittered


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    import time

    return max(0.0, when.timestamp() - (time.time() if now is None else now))
