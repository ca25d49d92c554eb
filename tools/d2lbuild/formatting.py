"""Lay out code as d2lbook does: imports sorted by isort (no blank lines between sections), trailing spaces gone.

isort is imported only when some code has an import, and each result is kept by content, in memory and in
an optional store that the build keeps under ``build/``, so a rebuild formats nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from .fsutil import write_atomic


class CodeFormatter:
    """Formats code for one book root (first-party modules are those found in the root, as isort sees them)."""

    def __init__(self, root: Path | None = None, store: Path | None = None):
        self.root = root
        self.store = store
        self.known: dict[str, str] = {}
        self.added = False
        if store is not None:
            try:
                data = json.loads(store.read_text(encoding="utf-8"))
                self.known = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self.known = {}

    def __call__(self, source: str) -> str:
        if "import " in source:
            directory = str(self.root) if self.root else ""
            key = hashlib.sha256(f"{isort_version()}\0{directory}\0{source}".encode()).hexdigest()[:32]
            if key not in self.known:
                self.known[key] = sort_imports(source, directory)
                self.added = True
            source = self.known[key]
        return "\n".join(line.rstrip() for line in source.split("\n")).strip()

    def save(self) -> None:
        """Keep what was formatted for the next run (only when something new was formatted)."""
        if self.store is not None and self.added:
            write_atomic(self.store, json.dumps(self.known, sort_keys=True, ensure_ascii=False))
            self.added = False


def sort_imports(source: str, directory: str) -> str:
    """``source`` with its imports sorted by isort, all sections in one run without blank lines."""
    import isort  # only code with imports pays for this import

    config = _isort_config(directory)
    try:
        return isort.code(source, config=config)
    except Exception:  # isort refuses some code (e.g. broken syntax): keep it as written
        return source


@lru_cache(maxsize=8)
def _isort_config(directory: str):
    import isort

    sections = ("FUTURE", "STDLIB", "THIRDPARTY", "FIRSTPARTY", "LOCALFOLDER")
    options = {"no_lines_before": sections}
    if directory:
        options["directory"] = directory
    return isort.Config(**options)


@lru_cache(maxsize=1)
def isort_version() -> str:
    """The isort version, part of the formatting store's identity."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("isort")
    except PackageNotFoundError:
        return "none"
