"""The one content digest of d2lbuild: sha256 of some parts, as a chosen number of hex digits.

Every cache key, state record and content-named file is made with ``digest``. A single part hashes its own
bytes (so ``digest(data)`` is sha256 of ``data``); several parts are joined by NUL bytes first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

DIGEST_LENGTH = 16  # hex digits kept by default: 64 bits, ample for content keys within one book
FULL_LENGTH = 64


def digest(*parts: str | bytes, length: int = DIGEST_LENGTH) -> str:
    """sha256 of ``parts`` (text as UTF-8) joined by NUL bytes, as ``length`` hex digits."""
    return digest_of(parts, length=length)


def digest_of(parts: Iterable[str | bytes], length: int = DIGEST_LENGTH) -> str:
    """``digest`` of the parts an iterable yields (read one at a time: for many files)."""
    if not 0 < length <= FULL_LENGTH:
        raise ValueError(f"digest length must be 1 to {FULL_LENGTH} hex digits, not {length}")
    hasher = hashlib.sha256()
    for index, part in enumerate(parts):
        if index:
            hasher.update(b"\0")
        hasher.update(part.encode("utf-8") if isinstance(part, str) else part)
    return hasher.hexdigest()[:length]
