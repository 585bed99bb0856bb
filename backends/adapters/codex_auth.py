"""An existing ChatGPT login of the Codex CLI, read read-only from `$CODEX_HOME/auth.json`.

Facts from `shared/reference/providers.md` §1c (openai/codex `codex-rs/login/src/auth/
{storage,manager}.rs`, `token_data.rs`; checked 2026-11-29). The file is Codex's, not ours:

- `{"auth_mode"?, "OPENAI_API_KEY": str|null, "tokens": {"id_token", "access_token",
  "refresh_token", "account_id"}, "last_refresh": RFC 3339}`; `CODEX_HOME` defaults to `~/.codex`.
- We never refresh and never write: refresh tokens are single-use, so a refresh by us would log
  the Codex CLI out. Codex refreshes on its own; we re-read the file for every job.
- Account id = `tokens.account_id`, else the id_token claim `https://api.openai.com/auth` →
  `chatgpt_account_id`.
- Keyring and ephemeral credential stores are invisible to a file reader: not supported.

The access token is a secret: `CodexLogin` never shows it in its repr, and no message here
contains it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ErrorCode, ImagenError
from ..text import one_line

AUTH_CLAIM = "https://api.openai.com/auth"
LOGIN_HINT = (
    'keyring storage (cli_auth_credentials_store) is not supported: set it to "file" '
    "and run `codex login`"
)


@dataclass(frozen=True, slots=True)
class CodexLogin:
    """A ChatGPT login: the bearer token (secret, hidden from repr) and the account id."""

    access_token: str = field(repr=False)
    account_id: str | None
    path: Path


def codex_home(env: Mapping[str, str], override: str | None = None) -> Path:
    """The Codex home: `override` (an option), else `$CODEX_HOME`, else `~/.codex`."""
    raw = override or env.get("CODEX_HOME") or "~/.codex"
    return Path(raw).expanduser()


def auth_file(env: Mapping[str, str], override: str | None = None) -> Path:
    return codex_home(env, override) / "auth.json"


def read_codex_login(path: Path) -> CodexLogin:
    """Read `path` (never written). Raises ImagenError(AUTH_MISSING) saying what to do when
    the file is missing, unreadable, or holds no ChatGPT tokens (an API-key login)."""
    where = one_line(str(path), 200)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImagenError(
            ErrorCode.AUTH_MISSING, f"no ChatGPT login in {where}; {LOGIN_HINT}"
        ) from None
    except OSError as exc:
        reason = one_line(exc.strerror or type(exc).__name__, 80)
        raise ImagenError(ErrorCode.AUTH_MISSING, f"cannot read {where}: {reason}") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ImagenError(
            ErrorCode.AUTH_MISSING, f"{where} is not JSON; run `codex login`"
        ) from None
    tokens = data.get("tokens") if isinstance(data, dict) else None
    token = tokens.get("access_token") if isinstance(tokens, dict) else None
    if not isinstance(tokens, dict) or not isinstance(token, str) or not token:
        raise ImagenError(ErrorCode.AUTH_MISSING, f"no ChatGPT login in {where}; {LOGIN_HINT}")
    return CodexLogin(token, _account_id(tokens), path)


def login_problem(path: Path) -> str | None:
    """None when `path` holds a usable login, else the one-line reason (for readiness)."""
    try:
        read_codex_login(path)
    except ImagenError as exc:
        return exc.detail
    return None


def _account_id(tokens: dict[str, Any]) -> str | None:
    account = tokens.get("account_id")
    if isinstance(account, str) and account:
        return account
    id_token = tokens.get("id_token")
    return account_id_from_id_token(id_token) if isinstance(id_token, str) else None


def account_id_from_id_token(id_token: str) -> str | None:
    """The `chatgpt_account_id` in a JWT's payload claim `https://api.openai.com/auth`.

    The signature is not checked: the token is only read to route our request, the server
    checks it. None when the token is malformed or has no such claim.
    """
    parts = id_token.split(".")
    if len(parts) < 2:
        return None
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(body))
    except (ValueError, UnicodeDecodeError):
        return None
    auth = claims.get(AUTH_CLAIM) if isinstance(claims, dict) else None
    account = auth.get("chatgpt_account_id") if isinstance(auth, dict) else None
    return account if isinstance(account, str) and account else None
