"""Find a book's chapters: the reading order from the toc blocks, and the notebook files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .config import Config, is_absolute, leaves_root
from .errors import BuildError, Position, Warning_
from .formats import CHAPTER_SUFFIXES, chapter_stem, notebook_name
from .globs import glob_regex, matches_any  # noqa: F401  (matches_any: part of this module's API)
from .source import Cell, ChapterFilter, Document, read_document

TOC_FENCE = re.compile(r"^\s*(`{3,})\s*toc\s*$")
ANY_TOC_FENCE = re.compile(r"^\s*`{3,}\s*toc\s*$", re.MULTILINE)
SKIPPED_DIRS = {"build", "_build", ".git", ".ipynb_checkpoints", "node_modules"}


@dataclass(frozen=True)
class Book:
    """The chapters in reading order, the notebook files, every document read, and the toc entries naming no
    file (the chapters' own warnings are in their documents)."""

    order: tuple[str, ...]
    notebooks: tuple[str, ...]
    documents: dict[str, Document]
    toc_warnings: tuple[Warning_, ...] = ()

    @property
    def orphans(self) -> tuple[str, ...]:
        """Notebook files that no toc reaches: they add nothing to the library."""
        reached = set(self.order)
        return tuple(path for path in self.notebooks if path not in reached)


def load_book(config: Config, wanted: ChapterFilter | None = None) -> Book:
    """Read every chapter the toc reaches and every file the notebook globs match.

    With ``wanted``, a chapter whose text it rejects is only skimmed (see ``read_document``); files with toc
    blocks are always read, since they give the reading order.
    """
    documents: dict[str, Document] = {}

    def keep(relpath: str, text: str, content: str) -> bool:
        return wanted(relpath, text, content) or ANY_TOC_FENCE.search(text) is not None

    def document(relpath: str) -> Document:
        if relpath not in documents:
            documents[relpath] = read_document(config.root, relpath, config.tabs, keep if wanted else None)
        return documents[relpath]

    toc_warnings: list[Warning_] = []
    order = reading_order(config, document, toc_warnings)
    notebooks = notebook_files(config)
    check_chapter_collisions(notebooks)
    for relpath in notebooks:
        document(relpath)
    return Book(tuple(order), tuple(notebooks), documents, tuple(toc_warnings))


def reading_order(config: Config, document, warnings: list[Warning_]) -> list[str]:
    """The root file, then depth-first every file its toc blocks list (entries naming no file are skipped)."""
    root_file = resolve_entry(config.root, "", config.index, Position("config.ini", 0))
    if root_file is None:
        raise BuildError("config.ini", f"[build] index: {config.index}.md not found")
    order: list[str] = []
    seen: set[str] = set()

    def visit(relpath: str) -> None:
        seen.add(relpath)
        order.append(relpath)
        folder = str(Path(relpath).parent)
        for entry, position in toc_entries(document(relpath)):
            target = resolve_entry(config.root, "" if folder == "." else folder, entry, position)
            if target is None:
                warnings.append(Warning_(position, f"toc entry {entry!r} names no file (looked for {entry}.md next to {relpath}); skipped"))
            elif target not in seen:
                visit(target)

    visit(root_file)
    return order


def toc_entries(document: Document) -> list[tuple[str, Position]]:
    """Entries of the document's ```toc blocks; lines starting with ':' are options."""
    entries: list[tuple[str, Position]] = []
    if not document.may_have_toc:
        return entries
    for cell in document.cells:
        if cell.kind == "markdown" and "toc" in cell.text:
            entries.extend(_cell_toc_entries(cell))
    return entries


def _cell_toc_entries(cell: Cell) -> list[tuple[str, Position]]:
    entries, fence = [], None
    for line in cell.lines:
        stripped = line.text.strip()
        if fence is None:
            match = TOC_FENCE.match(line.text)
            fence = match.group(1) if match else None
        elif stripped == fence:
            fence = None
        elif stripped and not stripped.startswith(":") and "://" not in stripped:
            entries.append((_entry_target(stripped), cell.position_of(line.number)))
    return entries


def _entry_target(entry: str) -> str:
    """``Title <path>`` names ``path``; a bare entry is the path itself."""
    match = re.match(r"^.*<([^>]+)>$", entry)
    return match.group(1).strip() if match else entry


def resolve_entry(root: Path, folder: str, entry: str, position: Position) -> str | None:
    """The chapter file a toc entry names, relative to the book root, or None."""
    if is_absolute(entry) or leaves_root(f"{folder}/{entry}" if folder else entry):
        raise BuildError(position, f"toc entry {entry!r} leaves the book's root; name chapters inside it")
    base = Path(folder) / entry if folder else Path(entry)
    candidates = [base] if base.suffix in CHAPTER_SUFFIXES else [base.with_name(base.name + s) for s in CHAPTER_SUFFIXES]
    for candidate in candidates:
        if (root / candidate).is_file():
            return _normalise(candidate)
    return None


def _normalise(path: Path) -> str:
    parts: list[str] = []
    for part in path.as_posix().split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def check_chapter_collisions(chapters: list[str]) -> None:
    """Chapters that would share an output: ``x.md`` beside ``x.py`` or ``x.ipynb``, and ``a.failed.md`` beside ``a.md``."""
    stems: dict[str, str] = {}
    for path in chapters:
        stem = chapter_stem(path)
        if stem in stems:
            raise BuildError(f"{path}:1", f"collides with {stems[stem]}: both would become the notebook {notebook_name(path)}; rename one")
        stems[stem] = path
    for stem, path in stems.items():
        if stem.endswith(".failed") and stem[: -len(".failed")] in stems:
            other = stems[stem[: -len(".failed")]]
            raise BuildError(f"{path}:1", f"collides with {other}: its notebook is where a failed run of {other} is kept; rename it")


def notebook_files(config: Config) -> list[str]:
    """Files matched by ``[build] notebooks``, less exclusions and non-notebooks, sorted.

    As in d2lbook, a wildcard matches no hidden name (``*/*.md`` does not enter ``.github/``), and a chapter
    inside a ``resources`` folder gets no notebook (d2lbook copies the folder over its notebooks).
    """
    found: set[str] = set()
    for pattern in config.notebooks:
        for path in config.root.glob(pattern):
            relpath = path.relative_to(config.root).as_posix()
            if path.is_file() and not _skipped(relpath) and not _hidden(relpath, pattern):
                check_file_name(relpath)
                found.add(relpath)
    dropped = config.exclusions + config.non_notebooks
    return sorted(path for path in found if not matches_any(path, dropped) and not in_resources(config, path))


def _hidden(relpath: str, pattern: str) -> bool:
    """Whether a wildcard of ``pattern`` matched a hidden name of ``relpath`` (one the pattern does not spell out)."""
    spelled = set(pattern.split("/"))
    return any(part.startswith(".") and part not in spelled for part in relpath.split("/"))


def in_resources(config: Config, chapter: str) -> bool:
    """Whether the notebook of ``chapter`` would lie in a ``resources`` folder, or match a ``resources`` pattern."""
    notebook = notebook_name(chapter)
    for resource in config.resources:
        folder = resource.rstrip("/")
        if folder and (config.root / folder).is_dir():
            if notebook.startswith(folder + "/"):
                return True
        elif matches_any(notebook, (resource,)):
            return True
    return False


def check_file_name(relpath: str) -> None:
    """A chapter's name must be UTF-8 and one line: every message and output names it."""
    shown = relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if shown != relpath:
        raise BuildError(shown, "the file name is not UTF-8; rename the file")
    if any(char in relpath for char in "\n\r"):
        raise BuildError(relpath.replace("\n", "\\n").replace("\r", "\\r"), "the file name holds a line break; rename the file")


def _skipped(relpath: str) -> bool:
    return any(part in SKIPPED_DIRS for part in relpath.split("/")[:-1])
