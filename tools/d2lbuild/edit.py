"""Export a chapter as one framework's notebook for editing: each cell records the chapter block it came from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property
from pathlib import Path

from .booklock import book_lock
from .config import Config, load_config
from .errors import BuildError, Position
from .formats import is_markdown
from .fsutil import read_regular, write_if_changed
from .hashing import digest
from .layout import EDIT_DIR, edit_path
from .notebook import dumps, kernel_name, notebook_for
from .pipeline import check_tabs, code_formatter
from .source import FENCE, TAB_MARK, Cell, Document, Notes, decode, read_markdown, split_lines, tab_marker
from .stopping import checkpoint
from .transforms import in_tab, select_tab

RAW_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass(frozen=True)
class Block:
    """The chapter lines a cell owns (``start``..``end``, fences and tab markers included)."""

    index: int
    cell: Cell
    start: int
    end: int
    digest: str

    def tabs(self, config: Config) -> tuple[str, ...]:
        return config.tabs if self.cell.tabs is None else self.cell.tabs


@dataclass(frozen=True)
class Chapter:
    """A Markdown chapter read for editing: its lines as they are on disk (endings kept) and its blocks."""

    path: str
    text: str
    document: Document

    @cached_property
    def raw(self) -> list[str]:
        return RAW_LINE.findall(self.text)

    @cached_property
    def blocks(self) -> tuple[Block, ...]:
        cells = [cell for cell in self.document.cells if cell.span is not None]
        return tuple(Block(index, cell, *cell.span, digest(self.lines_text(*cell.span))) for index, cell in enumerate(cells))

    @property
    def newline(self) -> str:
        first = self.raw[0] if self.raw else ""
        return "\r\n" if first.endswith("\r\n") else "\r" if first.endswith("\r") else "\n"

    def line(self, number: int) -> str:
        """Line ``number`` (1-based) without its ending."""
        return self.raw[number - 1].rstrip("\r\n")

    def lines_text(self, start: int, end: int) -> str:
        return "".join(self.raw[start - 1 : end])

    def position(self, number: int) -> Position:
        return Position(self.path, number)


def parse_chapter(relpath: str, text: str, tabs: tuple[str, ...]) -> Chapter:
    """A chapter's text read with the book's reader (positions and spans)."""
    document = Document(relpath, tuple(read_markdown(relpath, split_lines(text), tabs, notes=Notes(relpath))), content=digest(text))
    return Chapter(relpath, text, document)


def read_chapter(config: Config, relpath: str) -> Chapter:
    """Read ``relpath`` (a Markdown chapter of the book) for editing."""
    if not is_markdown(relpath):
        raise BuildError(Position(relpath, 1), "only Markdown chapters can be edited as notebooks")
    path = config.root / relpath
    if not path.is_file():
        raise BuildError(relpath, "no such chapter")
    data = path.read_bytes()
    decode(relpath, data)  # not UTF-8: one line naming where
    return parse_chapter(relpath, data.decode("utf-8"), config.tabs)


def chapter_relpath(config: Config, chapter: str | Path) -> str:
    """A chapter argument (relative to the current folder or the root, or absolute) as a path relative to the root."""
    path = Path(chapter)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, config.root / path]
    for candidate in candidates:
        try:
            return candidate.resolve().relative_to(config.root.resolve()).as_posix()
        except ValueError:
            continue
    raise BuildError(str(chapter), "not inside the book")


# --- the notebook of one tab, with provenance ---------------------------------------------------


def block_marks(chapter: Chapter, block: Block) -> dict[str, str]:
    """The marks a cell's notebook text does not show: fences, the tab mark, the tab block's markers."""
    marks: dict[str, str] = {}
    first, last = chapter.line(block.start), chapter.line(block.end)
    if block.cell.kind == "code":
        marks["open"] = first
        if code_closed(chapter, block):
            marks["close"] = last
        number = tab_mark_line(chapter, block)
        if number is not None:
            marks["tab"] = chapter.line(number)
    elif tab_marker(first) and tab_marker(first)[0] == "begin":
        marks["begin"] = first
        if block.end > block.start and tab_marker(last) == ("end", None):
            marks["end"] = last
    return marks


def code_closed(chapter: Chapter, block: Block) -> bool:
    """Whether a code block ends with its closing fence (an unclosed one runs to the end of the file)."""
    opening = FENCE.match(chapter.line(block.start))
    return bool(opening) and block.end > block.start and chapter.line(block.end).strip() == opening.group(2)


def tab_mark_line(chapter: Chapter, block: Block) -> int | None:
    """The line of a code block's ``#@tab``/``%%tab`` mark (its first non-blank line), if it has one."""
    last = block.end - 1 if code_closed(chapter, block) else block.end
    for number in range(block.start + 1, last + 1):
        text = chapter.line(number)
        if text.strip():
            return number if TAB_MARK.match(text) else None
    return None


def body_range(chapter: Chapter, block: Block) -> tuple[int, int]:
    """The chapter lines between a block's marks (for prose: the whole block); empty when ``end < start``."""
    if block.cell.kind == "code":
        anchor = tab_mark_line(chapter, block) or block.start
        return anchor + 1, block.end - 1 if code_closed(chapter, block) else block.end
    marks = block_marks(chapter, block)
    if "begin" in marks:
        return block.start + 1, block.end - 1 if "end" in marks else block.end
    return block.start, block.end


@dataclass(frozen=True)
class Exported:
    """One notebook cell made from a block: its text lines and the chapter line each came from (None: unknown)."""

    block: Block
    cell: dict
    texts: list[str]
    numbers: list[int | None]


def cell_lines(text: str) -> list[str]:
    """A cell's text as lines (a newline at the end ends the last line; an empty text has none)."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def text_digest(text: str) -> str:
    """The digest of a cell's text, a newline at its end aside (Jupyter may add or drop it)."""
    return digest("\n".join(cell_lines(text)))


def source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def export_cells(config: Config, chapter: Chapter, tab: str) -> list[Exported]:
    """The chapter's notebook cells in ``tab`` (what ``notebooks`` writes), each with its block and line numbers."""
    cells = select_tab(chapter.document, tab)
    notebook = notebook_for(chapter.path, cells, config.library(tab), code_formatter(config))
    by_start = {block.start: block for block in chapter.blocks}
    exported = []
    for cell, nb_cell in zip(cells, notebook["cells"], strict=True):
        block = by_start[cell.span[0]]
        texts = cell_lines(source_text(nb_cell))
        if nb_cell["cell_type"] == "code":
            position = nb_cell["metadata"]["d2lbuild"]
            numbers = position.get("lines") or list(range(position["line"], position["line"] + len(texts)))
            numbers = [int(number) for number in numbers][: len(texts)]
        else:
            numbers = _match_lines(chapter, block, texts)
        exported.append(Exported(block, nb_cell, texts, numbers))
    return exported


def _match_lines(chapter: Chapter, block: Block, texts: list[str]) -> list[int | None]:
    """The chapter line of each line of a Markdown cell (its layout drops blank lines), matched in order."""
    numbers: list[int | None] = []
    cursor = block.start
    for text in texts:
        found = next((n for n in range(cursor, block.end + 1) if chapter.line(n).rstrip() == text.rstrip()), None)
        numbers.append(found)
        cursor = found + 1 if found is not None else cursor
    return numbers


def export(config: Config, chapter: Chapter, tab: str) -> dict:
    """The notebook of ``chapter`` in ``tab``, each cell's metadata saying where it came from."""
    exported = export_cells(config, chapter, tab)
    notebook = notebook_for(chapter.path, [], config.library(tab), code_formatter(config))  # the notebook's own metadata
    cells = []
    for item in exported:
        cell = dict(item.cell)
        block = item.block
        provenance = {
            "kind": cell["cell_type"],
            "block": block.index,
            "span": [block.start, block.end],
            "marks": block_marks(chapter, block),
            "digest": block.digest,
            "source": text_digest(source_text(cell)),
            "tabs": list(block.tabs(config)),
        }
        cell["metadata"] = {**cell["metadata"], "d2lbuild": {**cell["metadata"]["d2lbuild"], "edit": provenance}}
        cells.append(cell)
    notebook["cells"] = cells
    notebook["metadata"]["d2lbuild"]["edit"] = {
        "chapter": chapter.path,
        "content": chapter.document.content,
        "blocks": [block.digest for block in chapter.blocks],
        "cells": [[cell["id"], cell["metadata"]["d2lbuild"]["edit"]["block"]] for cell in cells],
    }
    return notebook


def carry_over(previous: list[dict], fresh: dict) -> dict:
    """``fresh`` with the ids, outputs and execution counts of ``previous`` cells whose text it still holds."""
    matcher = SequenceMatcher(
        None, [source_text(cell) for cell in previous], [source_text(cell) for cell in fresh["cells"]], autojunk=False
    )
    pairs: dict[int, dict] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs.update({j1 + k: previous[i1 + k] for k in range(j2 - j1)})
    cells, used = [], set()
    for index, cell in enumerate(fresh["cells"]):
        cell = dict(cell)
        old = pairs.get(index)
        if old is not None and old.get("cell_type") == cell["cell_type"]:
            if isinstance(old.get("id"), str) and old["id"] not in used:
                cell["id"] = old["id"]
            if cell["cell_type"] == "code" and source_text(old) == source_text(cell):
                cell["outputs"], cell["execution_count"] = old.get("outputs", []), old.get("execution_count")
            kept = {key: value for key, value in (old.get("metadata") or {}).items() if key != "d2lbuild"}
            cell["metadata"] = {**kept, "d2lbuild": cell["metadata"]["d2lbuild"]}
        while cell["id"] in used:
            cell["id"] = f"{cell['id']}-{len(used)}"
        used.add(cell["id"])
        cells.append(cell)
    notebook = dict(fresh)
    notebook["cells"] = cells
    record = dict(notebook["metadata"]["d2lbuild"]["edit"])
    record["cells"] = [[cell["id"], cell["metadata"]["d2lbuild"]["edit"]["block"]] for cell in cells]
    notebook["metadata"] = {**notebook["metadata"], "d2lbuild": {**notebook["metadata"]["d2lbuild"], "edit": record}}
    return notebook


# --- reading an exported notebook ---------------------------------------------------------------


def load_notebook(path: Path, shown: str) -> dict:
    """An exported notebook as JSON, or one line saying why it cannot be used."""
    try:
        notebook = json.loads(read_regular(path).decode("utf-8"))  # a FIFO in its place is refused, never waited on
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as err:
        raise BuildError(shown, f"not a readable notebook ({getattr(err, 'strerror', None) or err})") from None
    record(notebook, shown)
    return notebook


def record(notebook: dict, shown: str) -> dict:
    """The edit record of a notebook ``export`` wrote (checked for shape)."""
    try:
        found = notebook["metadata"]["d2lbuild"]["edit"]
        ok = isinstance(found["blocks"], list) and isinstance(found["cells"], list) and isinstance(notebook["cells"], list)
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise BuildError(shown, "not a notebook written by `d2lbuild edit` (its d2lbuild metadata is missing); export the chapter again")
    return found


def provenance(cell: dict) -> dict | None:
    """A cell's edit metadata, when it has well-formed metadata."""
    try:
        meta = cell["metadata"]["d2lbuild"]["edit"]
    except (KeyError, TypeError):
        return None
    needed = {"block": int, "span": list, "digest": str, "source": str, "marks": dict, "tabs": list}
    return meta if isinstance(meta, dict) and all(isinstance(meta.get(key), kind) for key, kind in needed.items()) else None


def pending_edits(notebook: dict) -> bool:
    """Whether a notebook holds edits not synced yet: a cell changed, added or deleted since export."""
    exported = {entry[0] for entry in notebook["metadata"]["d2lbuild"]["edit"]["cells"] if entry}
    seen = set()
    for cell in notebook["cells"]:
        meta = provenance(cell)
        if meta is None or cell.get("id") not in exported:
            if source_text(cell).strip():
                return True
            continue
        seen.add(cell.get("id"))
        if text_digest(source_text(cell)) != meta["source"]:
            return True
    return seen != exported


# --- d2lbuild edit -------------------------------------------------------------------------------


@dataclass
class EditReport:
    notebook: str
    written: bool
    resources: int
    kernel: str


def edit(root: Path, chapter: str | Path, tab: str | None = None, force: bool = False, warn=print) -> EditReport:
    """Write ``build/edit/TAB/CHAPTER.ipynb``: the chapter as ``tab``'s notebook, ready to open in Jupyter."""
    with book_lock(root):
        return _edit(root, chapter, tab, force, warn)


def _edit(root: Path, chapter: str | Path, tab: str | None = None, force: bool = False, warn=print) -> EditReport:
    from .workspace import copy_resources, resource_files

    config = load_config(root)
    tab = check_tabs(config, (tab,))[0] if tab else config.default_tab
    relpath = chapter_relpath(config, chapter)
    read = read_chapter(config, relpath)
    if not in_tab(read.document, tab, config.default_tab):
        raise BuildError(Position(relpath, 1), f"the section has no {tab} notebook: none of its code cells or tab blocks names {tab}")
    target = edit_path(tab, relpath)
    fresh = export(config, read, tab)
    existing = config.root / target
    if existing.exists():
        previous = load_notebook(existing, target) if not force else None
        if previous is not None and pending_edits(previous):
            raise BuildError(target, "holds edits not synced to the chapter: run `d2lbuild sync` first, or edit --force to discard them")
        if previous is not None:
            fresh = carry_over(previous["cells"], fresh)
    checkpoint()
    written = write_if_changed(existing, dumps(fresh))
    checkpoint()
    copy_resources(config, config.root / EDIT_DIR / tab, warn)
    return EditReport(target, written, len(resource_files(config)), kernel_name(tab))
