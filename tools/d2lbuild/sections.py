"""Choose the sections an eval runs: chapter paths or globs relative to the book, as given on the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .book import matches_any
from .errors import BuildError
from .report import REPORT_STORE
from .schedule import Job


@dataclass(frozen=True)
class Selection:
    """The patterns given (none: every section) and what they mean as globs over chapter paths."""

    patterns: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.patterns

    def selects(self, chapter: str) -> bool:
        return self.everything or any(matches_any(chapter, pattern_globs(pattern)) for pattern in self.patterns)


def pattern_globs(pattern: str) -> tuple[str, ...]:
    """The globs a pattern stands for: itself, itself with any suffix (``x/y`` is ``x/y.md``), and a folder's contents."""
    globs = [pattern]
    if not PurePosixPath(pattern).suffix and not pattern.endswith("/"):
        globs.append(pattern + ".*")
    globs.append(pattern.rstrip("/") + "/**")
    return tuple(globs)


def book_relative(root: Path, argument: str, cwd: Path | None = None) -> str | None:
    """A path given from the current folder (inside the book) as a path relative to the book, or None."""
    here = (cwd or Path.cwd()).resolve()
    path = Path(argument)
    candidate = path if path.is_absolute() else here / path
    try:
        return Path(os.path.normpath(candidate)).relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def matches_some(pattern: str, chapters: list[str]) -> bool:
    return any(matches_any(chapter, pattern_globs(pattern)) for chapter in chapters)


def select(root: Path, arguments: tuple[str, ...], chapters: list[str], cwd: Path | None = None) -> Selection:
    """The selection the arguments make: each one a chapter path or glob relative to the book (or a path from the
    current folder inside it); one that matches no section of the book is an error."""
    patterns = []
    for argument in arguments:
        pattern = argument.replace(os.sep, "/").removeprefix("./")
        if not matches_some(pattern, chapters) or Path(argument).is_absolute():
            pattern = book_relative(root, argument, cwd) or pattern
        if pattern in ("", "."):  # the book's root: every section
            pattern = "**"
        if Path(pattern).is_absolute() or ".." in PurePosixPath(pattern).parts:
            raise BuildError(argument, "is outside the book; name sections relative to the book's root")
        if not matches_some(pattern, chapters):
            example = chapters[0] if chapters else "chapters/x.md"
            raise BuildError(argument, f"matches no section of the book (name chapter paths or globs relative to the book, e.g. {example})")
        patterns.append(pattern)
    return Selection(tuple(dict.fromkeys(patterns)))


def kept_records(report: Path, others: list[Job], warn) -> list[dict]:
    """The last report's lines of the sections a selection left out (and that still exist), as they were."""
    wanted = {job.chapter for job in others}
    records = (REPORT_STORE.read(report, warn) or {}).get("notebooks", []) if wanted else []
    return [record for record in records if isinstance(record, dict) and record.get("chapter") in wanted]
