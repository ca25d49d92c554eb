"""Failed runs remembered with their keys: a failure is shown again, not run again, until something it depends on changes."""

from __future__ import annotations

from pathlib import Path

from .records import ChapterRecords
from .stores import StoreType, is_str_map

# kinds a rerun with the same key would give again; a kernel that never started says nothing about the notebook
REMEMBERED_KINDS = ("error", "timed out", "died")


class FailureMemory(ChapterRecords):
    """``build/eval/TAB/failures.json``: chapter -> the key, time, kind, reason and traceback of its last failed run."""

    FIELDS = {"key": str, "seconds": (int, float), "failure": str, "reason": str, "traceback": str}
    STORE = StoreType("failures", 1, lambda data: is_str_map(data))

    def recall(self, chapter: str, key: str, failed_copy: Path) -> dict | None:
        """The remembered failure when the key is the same and the failed notebook is still there."""
        entry = self.entries.get(chapter)
        return entry if entry and entry["key"] == key and entry["failure"] in REMEMBERED_KINDS and failed_copy.is_file() else None

    def remember(self, chapter: str, key: str, seconds: float, failure: str, reason: str, traceback: str) -> None:
        if failure not in REMEMBERED_KINDS:
            self.forget(chapter)
            return
        self._put(chapter, {"key": key, "seconds": round(seconds, 3), "failure": failure, "reason": reason, "traceback": traceback})
