"""Retry policy: exponential backoff with jitter, honouring Retry-After. No I/O here."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

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
        backoff = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        jittered = backoff / 2 + self.rng.uniform(0, backoff / 2)
        if retry_after is not None:
            return max(min(retry_after, MAX_RETRY_AFTER_S), jittered)
        return jittered


def parse_retry_after(
    value: str | None, now: float | None = None, *, ms: str | None = None
) -> float | None:
    """Seconds to wait from rate-limit headers; None when absent or unreadable.

    `ms` is a `retry-after-ms` header (milliseconds, as OpenAI sends: openai-python
    `_base_client.py` `_parse_retry_after_header`, checked 2026-11-29); it wins when it holds a
    number. `value` is `Retry-After` as RFC 9110 §10.2.3 defines it: delta-seconds or an HTTP
    date, measured from `now` (epoch seconds; the clock when None). Never negative.
    """
    if ms:
        try:
            millis = float(ms.strip())
        except ValueError:
            millis = -1.0
        if millis >= 0 and math.isfinite(millis):
            return millis / 1000.0
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until(value, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(http_date: str, now: float | None) -> float | None:
    from email.utils import parsedate_to_datetime  # rare: most servers send seconds

    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
