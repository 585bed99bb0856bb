"""One error taxonomy for every backend and every face.

    ImagenTuiError             the one root; `.message` is one line that says what to do
      ├─ ImagenError           a generation failed; `code` is an ErrorCode
      │    ├─ retryable        rate_limited, unavailable (429, 5xx, transport errors)
      │    └─ final            everything else: never retried
      ├─ ConfigError           the config file, an `IMAGEN_*` variable or a flag is wrong (exit 2)
      │    └─ RequestError     a request's values are invalid; `.problems` name the fields
      └─ StoreError            an expected failure of the history store (not found, collision,
                               outside the library, disk full, read-only); `.path` names the file

Every code carries a one-line message that says what to do next; callers add a short detail.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    AUTH_MISSING = "auth_missing"
    AUTH_FAILED = "auth_failed"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    BAD_REQUEST = "bad_request"
    SAFETY_BLOCKED = "safety_blocked"
    NO_IMAGE = "no_image"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    CANCELLED = "cancelled"
    STORAGE = "storage"
    INTERNAL = "internal"


MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.AUTH_MISSING: "no API key: set the environment variable named by api_key_env",
    ErrorCode.AUTH_FAILED: "the API key was refused: check it, or that it may use this model",
    ErrorCode.RATE_LIMITED: "rate limited by the provider: wait a moment, or lower max_concurrent",
    ErrorCode.QUOTA_EXHAUSTED: "out of quota or credit: top up, or use another backend",
    ErrorCode.BAD_REQUEST: "the provider rejected the request: check size, options and prompt",
    ErrorCode.SAFETY_BLOCKED: "blocked by the provider's safety filter: rephrase the prompt",
    ErrorCode.NO_IMAGE: "the provider answered without an image: try again or change the prompt",
    ErrorCode.TIMEOUT: "timed out: raise timeout_s for this backend, or try again later",
    ErrorCode.UNAVAILABLE: "backend unreachable or failing: check base_url and that it is running",
    ErrorCode.CANCELLED: "cancelled",
    ErrorCode.STORAGE: "the image could not be saved",
    ErrorCode.INTERNAL: "internal error in imagen-tui: please report it with the job log",
}

RETRYABLE: frozenset[ErrorCode] = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE})


class ImagenTuiError(Exception):
    """Root of every expected failure; `message` is one line fit for a user."""

    @property
    def message(self) -> str:
        return str(self)


class ImagenError(ImagenTuiError):
    """A generation failure with a taxonomy code and a one-line message."""

    def __init__(
        self,
        code: ErrorCode | str,
        detail: str = "",
        *,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        self.code = ErrorCode(code)
        self.detail = " ".join(detail.split())  # always one line
        self.retry_after = retry_after
        self.status = status
        super().__init__(self.message)

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    @property
    def message(self) -> str:
        base = MESSAGES[self.code]
        return f"{base} ({self.detail})" if self.detail else base


class ConfigError(ImagenTuiError):
    """The configuration is invalid; `problems` holds one line per problem."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class RequestError(ConfigError):
    """A request (or its per-run options) is invalid; `fields` pairs each field with its problem.

    `fields` are request field names ("seed", "width") or option keys ("options.quality").
    """

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = list(fields)
        super().__init__([f"{name}: {message}" for name, message in self.fields])


class StoreError(ImagenTuiError):
    """An expected failure of the history store; `path` is the file or folder concerned."""

    def __init__(self, message: str, path: object = None) -> None:
        self.path = path
        super().__init__(" ".join(message.split()))
