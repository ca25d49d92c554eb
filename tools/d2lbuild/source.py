"""Read a chapter (Markdown, Jupyter notebook or percent script) into cells with positions."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from .errors import BuildError, Position, Warning_
from .formats import MARKDOWN, chapter_format
from .hashing import digest

CODE_INFO = re.compile(r"^\{\.python\s+\.input\b")
OUTPUT_INFO = re.compile(r"^\{[^}]*\.output\b")
FENCE = re.compile(r"^(\s*)(`{3,})(.*)$")
TAB_MARK = re.compile(r"^\s*(?:#\s*@tab|#?\s*%%tab)\b(.*)$")
TAB_MARK_ANY_CASE = re.compile(r"^\s*(?:#\s*@tab|#?\s*%%tab)\b", re.IGNORECASE)
BEGIN_TAB = re.compile(r":begin_tab:`([ *+,\-./\\\w]+)`")  # the names d2lbook takes: in backticks, right after the mark
HELPER = "%load_ext d2lbook.tab"
HIDE_MARK = "#@hide"  # a line of its own: the notebook runs the cell, the page and the PDF leave it out


def hide_mark(text: str) -> bool:
    """Whether a code line is the hidden-cell mark (alone on its line; d2lbook reads it as a comment)."""
    return text.strip() == HIDE_MARK


def hidden_code(texts: Iterable[str]) -> bool:
    """Whether code with these lines is a hidden cell."""
    return any(hide_mark(text) for text in texts)


class Line(NamedTuple):
    """One line of a cell and its line number in the chapter (within the cell, for .ipynb)."""

    text: str
    number: int


@dataclass(frozen=True)
class Cell:
    """A Markdown or code cell; ``tabs`` is None for Markdown shared by every tab."""

    kind: str
    lines: tuple[Line, ...]
    tabs: tuple[str, ...] | None
    path: str
    cell: int | None = None
    helper: bool = False
    has_outputs: bool = False
    named: tuple[str, ...] = ()  # the tabs a #@tab mark or :begin_tab: names explicitly (``all`` names none)
    span: tuple[int, int] | None = None  # the chapter lines the cell owns, fences and tab markers included (.md only)

    @cached_property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def position(self) -> Position:
        return self.position_of(self.lines[0].number if self.lines else 1)

    def position_of(self, number: int) -> Position:
        return Position(self.path, number, self.cell)

    def for_tab(self, tab: str) -> bool:
        return self.tabs is None or tab in self.tabs


@dataclass(frozen=True)
class Document:
    """A chapter file as a sequence of cells."""

    path: str
    cells: tuple[Cell, ...]
    warnings: tuple[Warning_, ...] = ()
    content: str = ""  # the digest of the bytes read (what caches of this chapter's results are keyed on)
    may_have_toc: bool = True  # False when the text never says "toc", so no cell needs a look for toc blocks
    skimmed: bool = False  # read for its digest only: its cells were not needed (see ``read_document``)


# Whether a caller needs a chapter's cells, given its path, its text and the digest of its bytes.
ChapterFilter = Callable[[str, str, str], bool]


def read_document(root: Path, relpath: str, tabs: tuple[str, ...], wanted: ChapterFilter | None = None) -> Document:
    """Read the chapter at ``root/relpath`` (one of ``formats.CHAPTER_FORMATS``) into a Document.

    When ``wanted`` says the caller does not need the cells, they are not read: the Document is skimmed
    (its digest only, no cells, no warnings). It must still be UTF-8.
    """
    data = (root / relpath).read_bytes()
    text = decode(relpath, data)
    content = digest(data)
    if wanted is not None and not wanted(relpath, text, content):
        return Document(relpath, (), (), content, False, skimmed=True)
    notes = Notes(relpath)
    reader = (chapter_format(relpath) or MARKDOWN).reader  # a toc may name a file of another suffix: read as Markdown
    if reader == "notebook":
        cells = read_ipynb(relpath, text, tabs, notes)
    elif reader == "percent":
        cells = read_percent_script(relpath, text, tabs, notes)
    else:
        cells = read_markdown(relpath, split_lines(text), tabs, notes=notes)
    return Document(relpath, tuple(cells), tuple(notes.found), content, "toc" in text)


def decode(relpath: str, data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped) or a BuildError naming the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise BuildError(Position(relpath, line), f"not UTF-8 (byte 0x{data[err.start]:02x}); save the file as UTF-8") from None


def split_lines(text: str, first: int = 1) -> list[Line]:
    """Lines with numbers; CRLF and CR line ends count as one."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    return new_lines(raw, range(first, first + len(raw)))


_new_line = functools.partial(tuple.__new__, Line)  # Line(text, number) without a Python-level call per line


def new_lines(texts: list[str], numbers: Iterable[int]) -> list[Line]:
    """``Line(text, number)`` for each pair."""
    return list(map(_new_line, zip(texts, numbers, strict=True)))


class Notes:
    """Warnings found while reading one chapter (d2lbook accepts the input; ``check`` rejects it)."""

    def __init__(self, path: str, cell: int | None = None):
        self.path, self.cell, self.found = path, cell, []

    def at(self, line: int) -> Position:
        return Position(self.path, line, self.cell)

    def warn(self, line: int, message: str) -> None:
        self.found.append(Warning_(self.at(line), message))


def parse_tab_names(text: str, line: int, tabs: tuple[str, ...], what: str, notes: Notes) -> tuple[tuple[str, ...], bool]:
    """The tabs named in ``a, b`` and whether they were named explicitly (``all`` is every tab, not explicit).

    Unknown names are dropped with a warning, as d2lbook gives them a tab that is never built.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        notes.warn(line, f"{what} names no tab, so the cell belongs to none; write e.g. {what} {tabs[0]}")
        return (), True
    if "all" in names:
        return tabs, False
    for name in names:
        if name not in tabs:
            notes.warn(line, f"unknown tab {name!r} in {what}; config.ini [build] tabs = {', '.join(tabs)}")
    return tuple(name for name in tabs if name in names), True


def read_markdown(path: str, lines: list[Line], tabs: tuple[str, ...], cell: int | None = None, notes: Notes | None = None) -> list[Cell]:
    """Split Markdown lines into Markdown cells (per tab block) and code cells, as d2lbook splits them.

    A tab block ends at its ``:end_tab:``, at another ``:begin_tab:`` or at the next code cell: code fences are
    code cells wherever they stand. Prose pieces of the same kind next to each other (shared prose, or blocks of
    the same tabs) make one cell, one blank line apart.
    """
    reader = _MarkdownReader(path, tabs, cell, notes if notes is not None else Notes(path, cell))
    special = [index for index, line in enumerate(lines) if "``" in line.text or "_tab:" in line.text]  # fences, tab marks
    index = 0
    while index < len(lines):
        upcoming = bisect.bisect_left(special, index)
        if upcoming == len(special):
            reader.text.extend(lines[index:])  # plain prose to the end
            break
        if special[upcoming] > index:
            reader.text.extend(lines[index : special[upcoming]])
            index = special[upcoming]
        line = lines[index]
        fence = FENCE.match(line.text) if "``" in line.text else None
        if fence:
            index = reader.fence(lines, index, fence, special[upcoming + 1 :])
            continue
        marker = tab_marker(line.text)
        if marker is None:
            reader.indented_marker(line)
            reader.text.append(line)
        elif marker[0] == "begin":
            reader.begin(line, marker[1])
        else:
            reader.end(line)
        index += 1
    reader.close(None)
    return reader.cells


def tab_marker(text: str) -> tuple[str, str | None] | None:
    """``("begin", names)`` for a line starting with ``:begin_tab:`` (names None unless in backticks right after it),
    ``("end", None)`` for one starting with ``:end_tab:``; None for any other line."""
    if text.startswith(":begin_tab:"):
        names = BEGIN_TAB.match(text)
        return "begin", names.group(1) if names else None
    if text.startswith(":end_tab:"):
        return "end", None
    return None


class _MarkdownReader:
    """The state of ``read_markdown``: the cells so far, the prose not yet in a cell and the open tab block."""

    def __init__(self, path: str, tabs: tuple[str, ...], cell: int | None, notes: Notes):
        self.path, self.tabs, self.cell, self.notes = path, tabs, cell, notes
        self.cells: list[Cell] = []
        self.text: list[Line] = []
        self.block: tuple[tuple[str, ...], bool] | None = None  # the open block's tabs and whether named explicitly
        self.block_start: Line | None = None  # the line that opened the block (one naming no tab included)
        self.last_kind: object = None  # what the last prose cell since the last code cell was: None, "shared" or its tabs

    def fence(self, lines: list[Line], index: int, fence: re.Match, candidates: list[int]) -> int:
        """Read the fence at ``index``; the index after it."""
        line = lines[index]
        end = _closing_fence(lines, candidates, fence.group(2))
        if end is None:
            fence_text = fence.group(2)
            self.notes.warn(line.number, f"code fence {fence_text} is never closed: the rest of the file is in it; add a line {fence_text}")
            end = len(lines)
        if CODE_INFO.match(fence.group(3).strip()):
            self.close(line)
            code = code_cell(self.path, lines[index + 1 : end], self.tabs, self.cell, notes=self.notes)
            self.cells.append(replace(code, span=(line.number, lines[min(end, len(lines) - 1)].number)))
        else:
            self.text.extend(lines[index : end + 1])
        return end + 1

    def begin(self, line: Line, names: str | None) -> None:
        if self.block_start is not None:
            opened = self.block_start.number
            self.notes.warn(line.number, f":begin_tab: inside the tab block opened at line {opened}; a new block starts here")
        self.flush(run_end=False)
        if names is None:
            message = ":begin_tab: names no tab in backticks (write :begin_tab:`a, b`); its block is prose of every tab"
            self.notes.warn(line.number, message)
            self.block = None
        else:
            self.block = parse_tab_names(names, line.number, self.tabs, ":begin_tab:", self.notes)
        self.block_start = line

    def end(self, line: Line) -> None:
        if self.block_start is None:
            self.notes.warn(line.number, ":end_tab: without a :begin_tab: before it (a code cell ends a tab block); ignored")
        self.flush(run_end=False, closing=line if self.block_start is not None else None)
        self.block, self.block_start = None, None

    def indented_marker(self, line: Line) -> None:
        stripped = line.text.lstrip()
        if stripped != line.text and tab_marker(stripped):
            self.notes.warn(line.number, f"an indented :{stripped.split(':')[1]}: mark is prose, as in d2lbook; start the line with it")

    def close(self, code: Line | None) -> None:
        """End the prose before a code cell (``code``) or the end of the file (None); an open tab block ends there."""
        if self.block_start is not None:
            where = f"the code cell at line {code.number}" if code else "the end of the file"
            self.notes.warn(self.block_start.number, f":begin_tab: is never closed: its block ends at {where}; add :end_tab:")
        self.flush(run_end=True)
        self.block, self.block_start, self.last_kind = None, None, None

    def flush(self, run_end: bool, closing: Line | None = None) -> None:
        """Make a cell of the prose read so far. A tab block with any line in it makes one (an empty cell for a block
        of blank lines), except that blank lines before a code cell or the end of the file do not count. The cell's
        span runs from the ``:begin_tab:`` line, if any, to ``closing`` (its ``:end_tab:`` line), if any."""
        lines = list(self.text)
        self.text.clear()
        if run_end:
            while lines and not lines[-1].text.strip():
                lines.pop()
        if self.block is None:
            if not any(line.text.strip() for line in lines):
                return
            kind, tabs, named = "shared", None, ()
        else:
            if not lines:
                return
            tabs, explicit = self.block
            kind, named = tabs, tabs if explicit else ()
        first = self.block_start.number if self.block_start is not None else lines[0].number
        last = closing.number if closing is not None else lines[-1].number
        if kind == self.last_kind:
            previous = self.cells.pop()
            lines = _trim_end(list(previous.lines)) + [Line("", previous.lines[-1].number)] + _trim_start(lines)
            first = previous.span[0] if previous.span else first
        self.cells.append(Cell("markdown", tuple(lines), tabs, self.path, self.cell, named=named, span=(first, last)))
        self.last_kind = kind


def _trim_start(lines: list[Line]) -> list[Line]:
    while lines and not lines[0].text.strip():
        lines = lines[1:]
    return lines


def _trim_end(lines: list[Line]) -> list[Line]:
    while lines and not lines[-1].text.strip():
        lines = lines[:-1]
    return lines


def _closing_fence(lines: list[Line], candidates: list[int], fence: str) -> int | None:
    """The first of the ``candidates`` (indexes of lines holding backticks) that closes ``fence``."""
    return next((index for index in candidates if lines[index].text.strip() == fence), None)


def code_cell(
    path: str, lines: list[Line], tabs: tuple[str, ...], cell: int | None = None, outputs: bool = False, notes: Notes | None = None
) -> Cell:
    """A code cell; its first ``#@tab a, b`` or ``%%tab a, b`` line chooses its tabs (as in d2lbook, wherever it
    stands; it belongs on the first line), and every tab mark is dropped."""
    notes = notes if notes is not None else Notes(path, cell)
    selected: tuple[str, ...] = (tabs[0],)
    named: tuple[str, ...] = (tabs[0],)  # a cell without a mark names the default tab
    body = list(lines)
    first = next((i for i, line in enumerate(body) if line.text.strip()), None)
    if first is not None and not TAB_MARK.match(body[first].text) and TAB_MARK_ANY_CASE.match(body[first].text):
        message = "write the tab mark #@tab in lower case; as it is, the line is a comment and the cell the default tab's"
        notes.warn(body[first].number, message)
    marks = [index for index, line in enumerate(body) if "tab" in line.text and TAB_MARK.match(line.text)]
    if marks:
        line = body[marks[0]]
        what = "%%tab" if line.text.lstrip().startswith("%%") else "#@tab"
        selected, explicit = parse_tab_names(TAB_MARK.match(line.text).group(1), line.number, tabs, what, notes)
        named = selected if explicit else ()
        if marks[0] != first:
            notes.warn(line.number, "a tab mark below the first line chooses the cell's tabs, as in d2lbook; move it to the first line")
    for index in marks[1:]:
        notes.warn(body[index].number, "a second tab mark is dropped (d2lbook ignores it); split the cell instead")
    dropped = set(marks)
    body = [line for index, line in enumerate(body) if index not in dropped]
    helper = HELPER in "\n".join(line.text for line in body)  # the mark holds no line break: as good as line by line
    return Cell("code", tuple(body), selected, path, cell, helper=helper, has_outputs=outputs, named=named)


def read_ipynb(path: str, text: str, tabs: tuple[str, ...], notes: Notes) -> list[Cell]:
    """Cells of a Jupyter notebook chapter; positions name the cell and the line in it."""
    import nbformat  # only books with .ipynb chapters pay for this import

    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several unrelated types
        raise BuildError(Position(path, 1), f"not a readable notebook: {_first_line(err)}") from None
    cells: list[Cell] = []
    raw_cells = notebook.get("cells")
    if not isinstance(raw_cells, list):
        raise BuildError(Position(path, 1), "not a readable notebook: it has no list of cells")
    for number, nb_cell in enumerate(raw_cells, 1):
        source = nb_cell.get("source") if isinstance(nb_cell, dict) else None
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            what = "has no source" if not isinstance(nb_cell, dict) or "source" not in nb_cell else "has a source that is not text"
            raise BuildError(Position(path, 1, number), f"the cell {what}; fix the notebook")
        lines = split_lines(source)
        notes.cell = number
        if nb_cell.get("cell_type") == "code":
            outputs = bool(nb_cell.get("outputs")) or nb_cell.get("execution_count") is not None
            cells.append(code_cell(path, lines, tabs, number, outputs, notes))
        elif nb_cell.get("cell_type") == "markdown":
            cells.extend(read_markdown(path, lines, tabs, number, notes))
    return cells


def read_percent_script(path: str, text: str, tabs: tuple[str, ...], notes: Notes) -> list[Cell]:
    """Cells of a jupytext percent script; positions are lines of the script."""
    import jupytext  # only books with .py chapters pay for this import

    try:
        notebook = jupytext.reads(text, fmt="py:percent")
    except Exception as err:  # jupytext raises several unrelated types
        raise BuildError(Position(path, 1), f"not a readable percent script: {_first_line(err)}") from None
    all_lines = split_lines(text)
    markers = [line.number for line in all_lines if line.text.startswith("# %%")]
    offset = len(notebook.cells) - len(markers)  # cells before the first marker
    cells: list[Cell] = []
    for index, nb_cell in enumerate(notebook.cells):
        marker = markers[index - offset] if index >= offset else 0
        start = _content_start(all_lines, marker, nb_cell.source)
        lines = split_lines(nb_cell.source, start)
        if nb_cell.cell_type == "code":
            cells.append(code_cell(path, lines, tabs, notes=notes))
        elif nb_cell.cell_type == "markdown":
            cells.extend(read_markdown(path, lines, tabs, notes=notes))
    return cells


def _content_start(lines: list[Line], marker: int, source: str) -> int:
    """The script line where a cell's first source line stands (after its marker)."""
    first = source.split("\n", 1)[0].strip()
    for line in lines[marker:]:
        stripped = line.text.strip()
        if stripped and (stripped == first or stripped.lstrip("# ").strip() == first.strip()):
            return line.number
    return marker + 1


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
