"""Per-chapter records kept in one store file (the eval cache, the remembered failures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from .stores import StoreType, has_fields


class ChapterRecords:
    """``chapter -> entry`` read from ``path``; entries whose fields do not have ``FIELDS``' types are dropped with a warning.

    Each change is written at once, merged into what the file holds then (under the store's lock): two
    processes recording different chapters keep both.
    """

    FIELDS: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    STORE: ClassVar[StoreType]

    def __init__(self, path: Path, warn: Callable[[str], None], shown: str):
        self.path = path
        self.warn = warn
        self.shown = shown
        self.entries: dict[str, dict] = self._valid(self.STORE.read(path, warn, shown), warn)

    def _valid(self, data: dict | None, warn: Callable[[str], None]) -> dict[str, dict]:
        entries = {}
        for chapter, entry in (data or {}).items():
            if has_fields(entry, self.FIELDS):
                entries[chapter] = entry
            else:
                warn(f"{self.shown}: warning: entry {chapter!r} is not one d2lbuild wrote; discarded")
        return entries

    def forget(self, chapter: str) -> None:
        if chapter in self.entries:
            self._save({chapter: None})

    def keep_only(self, chapters: set[str]) -> None:
        """Drop the entries of chapters that no longer exist."""
        stale = set(self.entries) - chapters
        if stale:
            self._save(dict.fromkeys(stale))

    def _put(self, chapter: str, entry: dict) -> None:
        self._save({chapter: entry})

    def _save(self, changes: dict[str, dict | None]) -> None:
        """Apply ``changes`` (None: remove) to the stored entries as they are now, and keep the result."""

        def merged(data: dict | None) -> dict:
            entries = self._valid(data, lambda message: None)
            for chapter, entry in changes.items():
                if entry is None:
                    entries.pop(chapter, None)
                else:
                    entries[chapter] = entry
            return entries

        self.entries = self.STORE.update(self.path, merged)  # a damaged file was reported when read first
