"""Per-chapter records kept as one JSON object on disk (the eval cache, the remembered failures)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from .fsutil import read_json_object, write_atomic


class ChapterRecords:
    """``chapter -> entry`` read from ``path``; entries whose fields do not have ``FIELDS``' types are dropped with a warning."""

    FIELDS: ClassVar[dict[str, type | tuple[type, ...]]] = {}

    def __init__(self, path: Path, warn: Callable[[str], None], shown: str):
        self.path = path
        self.entries: dict[str, dict] = {}
        for chapter, entry in read_json_object(path, warn, shown).items():
            if isinstance(entry, dict) and all(isinstance(entry.get(name), kind) for name, kind in self.FIELDS.items()):
                self.entries[chapter] = entry
            else:
                warn(f"{shown}: warning: entry {chapter!r} is not one d2lbuild wrote; discarded")

    def forget(self, chapter: str) -> None:
        if self.entries.pop(chapter, None) is not None:
            self._save()

    def keep_only(self, chapters: set[str]) -> None:
        """Drop the entries of chapters that no longer exist."""
        stale = set(self.entries) - chapters
        for chapter in stale:
            del self.entries[chapter]
        if stale:
            self._save()

    def _save(self) -> None:
        write_atomic(self.path, json.dumps(self.entries, indent=1, sort_keys=True) + "\n")
