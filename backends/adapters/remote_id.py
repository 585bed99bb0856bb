"""The shape a provider's job id must have before it is stored, put in a URL or shown.

Replicate prediction ids are lower-case base32 (`q5wz...`), fal request ids UUIDs; both fit
easily. Anything else (a slash, a control character, a kilobyte of text) is refused as a broken
answer rather than written to the job log and spliced into later URLs.
"""

from __future__ import annotations

import re

REMOTE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
"""Use with `fullmatch`."""
