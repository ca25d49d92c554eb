"""Failed runs remembered with their keys: a failure is shown again, not run again, until something it depends on changes."""

from __future__ import annotations

import json
from pathlib import Path

from .fsutil import read_json_object, write_atomic

# kinds a rerun with the same key would give again; a kernel that never started says nothing about the notebook
REMEMBERED_KINDS = ("error", "timed out", "died")
FIELDS = {"key": str, "seconds": (int, float), "failure": str, "reason": str, "traceback": str}


class FailureMemory:
    """``build/eval/TAB/failures.json``: chapter -> the key, time, kind, reason and traceback of its last failed run."""

    def __init__(self, path: Path, warn, shown: str):
        self.path = path
        data = read_json_object(path, warn, shown)
        self.entries: dict[str, dict] = {}
        for chapter, entry in data.items():
            if isinstance(entry, dict) and all(isinstance(entry.get(name), kind) for name, kind in FIELDS.items()):
                self.entries[chapter] = entry
            else:
                warn(f"{shown}: warning: entry {chapter!r} is not one d2lbuild wrote; discarded")

    def recall(self, chapter: str, key: str, failed_copy: Path) -> dict | None:
        """The remembered failure when the key is the same and the failed notebook is still there."""
        entry = self.entries.get(chapter)
        return entry if entry and entry["key"] == key and entry["failure"] in REMEMBERED_KINDS and failed_copy.is_file() else None

    def remember(self, chapter: str, key: str, seconds: float, failure: str, reason: str, traceback: str) -> None:
        if failure not in REMEMBERED_KINDS:
            self.forget(chapter)
            return
        self.entries[chapter] = {"key": key, "seconds": round(seconds, 3), "failure": failure, "reason": reason, "traceback": traceback}
        self._save()

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
