"""Read a chapter (Markdown, Jupyter notebook or percent script) into cells with positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError, Position

CODE_INFO = re.compile(r"^\{\.python\s+\.input\b")
OUTPUT_INFO = re.compile(r"^\{[^}]*\.output\b")
FENCE = re.compile(r"^(\s*)(`{3,})(.*)$")
TAB_MARK = re.compile(r"^\s*(?:#\s*@tab|%%tab)\b(.*)$")
BEGIN_TAB = re.compile(r"^\s*:begin_tab:`([^`]*)`\s*$")
END_TAB = re.compile(r"^\s*:end_tab:\s*$")
HELPER = "%load_ext d2lbook.tab"


@dataclass(frozen=True)
class Line:
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

    @property
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


def read_document(root: Path, relpath: str, tabs: tuple[str, ...]) -> Document:
    """Read the chapter at ``root/relpath`` (.md, .ipynb or .py) into a Document."""
    text = decode(relpath, (root / relpath).read_bytes())
    if relpath.endswith(".ipynb"):
        cells = read_ipynb(relpath, text, tabs)
    elif relpath.endswith(".py"):
        cells = read_percent_script(relpath, text, tabs)
    else:
        cells = read_markdown(relpath, split_lines(text), tabs)
    return Document(relpath, tuple(cells))


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
    return [Line(line, number) for number, line in enumerate(raw, first)]


def parse_tab_names(text: str, position: Position, tabs: tuple[str, ...], what: str) -> tuple[str, ...]:
    """The tabs named in ``a, b`` (``all`` for every tab), checked against config."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise BuildError(position, f"{what} names no tab; write e.g. {what} {tabs[0]}")
    if "all" in names:
        return tabs
    for name in names:
        if name not in tabs:
            raise BuildError(position, f"unknown tab {name!r} in {what}; config.ini [build] tabs = {', '.join(tabs)}")
    return tuple(name for name in tabs if name in names)


def read_markdown(path: str, lines: list[Line], tabs: tuple[str, ...], cell: int | None = None) -> list[Cell]:
    """Split Markdown lines into Markdown cells (per tab block) and code cells."""
    cells: list[Cell] = []
    text: list[Line] = []
    block_tabs: tuple[str, ...] | None = None
    block_start: Line | None = None

    def flush() -> None:
        if any(line.text.strip() for line in text):
            cells.append(Cell("markdown", tuple(text), block_tabs, path, cell))
        text.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line.text)
        if fence:
            end = _closing_fence(lines, index, fence.group(2), path, cell)
            if CODE_INFO.match(fence.group(3).strip()):
                flush()
                cells.append(code_cell(path, lines[index + 1 : end], tabs, cell))
            else:
                text.extend(lines[index : end + 1])
            index = end + 1
            continue
        begin, finish = BEGIN_TAB.match(line.text), END_TAB.match(line.text)
        if begin:
            if block_start is not None:
                message = f":begin_tab: inside the tab block opened at line {block_start.number}; close it with :end_tab: first"
                raise BuildError(Position(path, line.number, cell), message)
            flush()
            block_tabs = parse_tab_names(begin.group(1), Position(path, line.number, cell), tabs, ":begin_tab:")
            block_start = line
        elif finish:
            if block_start is None:
                raise BuildError(Position(path, line.number, cell), ":end_tab: without a :begin_tab: before it")
            flush()
            block_tabs, block_start = None, None
        else:
            text.append(line)
        index += 1
    if block_start is not None:
        raise BuildError(Position(path, block_start.number, cell), ":begin_tab: is never closed; add a line :end_tab:")
    flush()
    return cells


def _closing_fence(lines: list[Line], start: int, fence: str, path: str, cell: int | None) -> int:
    for index in range(start + 1, len(lines)):
        if lines[index].text.strip() == fence:
            return index
    raise BuildError(Position(path, lines[start].number, cell), f"code fence {fence} is never closed; add a line {fence}")


def code_cell(path: str, lines: list[Line], tabs: tuple[str, ...], cell: int | None = None, outputs: bool = False) -> Cell:
    """A code cell; a first line ``#@tab a, b`` or ``%%tab a, b`` chooses its tabs and is dropped."""
    selected: tuple[str, ...] = (tabs[0],)
    body = list(lines)
    first = next((i for i, line in enumerate(body) if line.text.strip()), None)
    if first is not None:
        mark = TAB_MARK.match(body[first].text)
        if mark:
            position = Position(path, body[first].number, cell)
            what = "%%tab" if body[first].text.lstrip().startswith("%%") else "#@tab"
            selected = parse_tab_names(mark.group(1), position, tabs, what)
            del body[first]
    helper = any(HELPER in line.text for line in body)
    return Cell("code", tuple(body), selected, path, cell, helper=helper, has_outputs=outputs)


def read_ipynb(path: str, text: str, tabs: tuple[str, ...]) -> list[Cell]:
    """Cells of a Jupyter notebook chapter; positions name the cell and the line in it."""
    import nbformat  # only books with .ipynb chapters pay for this import

    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises several unrelated types
        raise BuildError(Position(path, 1), f"not a readable notebook: {_first_line(err)}") from None
    cells: list[Cell] = []
    for number, nb_cell in enumerate(notebook.cells, 1):
        lines = split_lines(nb_cell.source)
        if nb_cell.cell_type == "code":
            outputs = bool(nb_cell.get("outputs")) or nb_cell.get("execution_count") is not None
            cells.append(code_cell(path, lines, tabs, number, outputs))
        elif nb_cell.cell_type == "markdown":
            cells.extend(read_markdown(path, lines, tabs, number))
    return cells


def read_percent_script(path: str, text: str, tabs: tuple[str, ...]) -> list[Cell]:
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
            cells.append(code_cell(path, lines, tabs))
        elif nb_cell.cell_type == "markdown":
            cells.extend(read_markdown(path, lines, tabs))
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
