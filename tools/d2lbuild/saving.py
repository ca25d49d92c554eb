"""Find the ``#@save`` block of each code cell of one tab: its extent, its layout, its docstring notes, its names.

The extent follows d2lbook's reading, so that libraries come out byte for byte as d2lbook writes them:
from a marked line, the column-0 lines that follow it, then the indented or blank lines after those.
Where that reading would cut a statement (a closing bracket or a string continued at column 0), the
whole statement is kept and a warning says so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from .errors import Warning_
from .formatting import CodeFormatter
from .source import Cell, Document, Line, hide_mark
from .transforms import parse_cell

SAVE_MARK = re.compile(r"\s*#\s*@save\s*$")
LABEL = re.compile(r":label:`([^`]*)`")
ADD_TO_CLASS = re.compile(r"^@(?:d2l\.)?add_to_class\(\s*(?:d2l\.)?([A-Za-z_]\w*)\s*\)")
CLASS_LINE = re.compile(r"^class +([A-Za-z_]\w*)")


@dataclass(frozen=True)
class SavedBlock:
    """The code one cell saves into a tab's library, laid out as the library shows it, with its origin."""

    lines: tuple[Line, ...]
    path: str
    cell: int | None
    kind: str  # "def", "class", "import" or "code"
    statements: tuple[Statement, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Bare top-level names the block binds: def, class, import, name = ..."""
        return tuple(dict.fromkeys(name for statement in self.statements for name in statement.names))

    @property
    def imported(self) -> tuple[tuple[str, str], ...]:
        return tuple(pair for statement in self.statements for pair in statement.imports)

    @property
    def line(self) -> int:
        return self.lines[0].number

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def class_name(self) -> str | None:
        """The class a block defines on its first line (methods added with add_to_class join it)."""
        match = CLASS_LINE.match(self.lines[0].text) if self.lines else None
        return match.group(1) if match else None


def saved_blocks(document: Document, tab: str, cells: list[Cell], formatter: CodeFormatter, warnings: list[Warning_]) -> list[SavedBlock]:
    """The saved block of each code cell of ``tab``, in order (``cells`` as select_tab gives them for ``document``)."""
    units = label_units(document, tab, [cell for cell in cells if cell.kind == "code"])
    blocks: list[SavedBlock] = []
    for index, unit in enumerate(units):
        if isinstance(unit, Cell) and "@save" in unit.text:
            block = cell_block(unit, latest_label(units[: max(index - 1, 0)]), formatter, warnings)
            if block is not None:
                blocks.append(block)
    return blocks


def label_units(document: Document, tab: str, code: list[Cell]) -> list[Cell | str]:
    """The cells as d2lbook sees them when it looks for labels: the Markdown between two code cells of the
    whole chapter is one unit (tab blocks included), and only the tab's code cells (``code``) stay."""
    units: list[Cell | str] = []
    remaining = iter(code)
    previous: Cell | None = None  # the Markdown cell read just before, if the last cell was Markdown
    for cell in document.cells:
        if cell.kind == "markdown":
            if previous is not None and previous.cell == cell.cell:  # one Markdown cell of the chapter, split by tab blocks
                units[-1] = f"{units[-1]}\n{cell.text}"
            else:
                units.append(cell.text)
            previous = cell
            continue
        previous = None
        if cell.for_tab(tab) and not cell.helper:
            units.append(next(remaining))
    return units


def latest_label(units: list[Cell | str]) -> str | None:
    """The last ``:label:`` naming a section (its name contains ``sec_``) in the Markdown of ``units``.

    d2lbook looks at the cells before the one just above a code cell, so callers pass that slice.
    """
    for unit in reversed(units):
        if isinstance(unit, str) and ":label:" in unit:
            found = [label for label in LABEL.findall(unit) if "sec_" in label]
            if found:
                return found[-1]
    return None


def cell_block(cell: Cell, label: str | None, formatter: CodeFormatter, warnings: list[Warning_]) -> SavedBlock | None:
    """The block one code cell saves, or None (with a warning) when its marks save nothing."""
    lines = list(cell.lines)
    marks = [index for index, line in enumerate(lines) if SAVE_MARK.search(line.text)]
    if not marks:
        return None
    chosen: set[int] = set()
    twice = False
    for mark in marks:
        extent = marked_lines(lines, mark)
        if not extent:
            warnings.append(Warning_(cell.position_of(lines[mark].number), "#@save marks nothing: no code follows it before a blank line"))
        if mark in chosen and not twice:
            twice = True  # once per cell
            message = "this #@save line is saved by the #@save above it already; d2lbook would write it twice, so it is saved once"
            warnings.append(Warning_(cell.position_of(lines[mark].number), message))
        chosen.update(extent)
    if not chosen:
        return None
    cut = _may_cut(lines, chosen)
    if cut:
        chosen = _whole_statements(cell, lines, chosen, cell_statements(cell, lines), warnings)
    block = _laid_out(cell, lines, chosen, label, formatter)
    if block is not None and not block.statements and not cut:
        # the saved lines do not parse: d2lbook would cut a statement, or the cell is broken
        chosen = _whole_statements(cell, lines, chosen, cell_statements(cell, lines), warnings)
        block = _laid_out(cell, lines, chosen, label, formatter)
    hides = [index for index in sorted(chosen) if hide_mark(lines[index].text)]
    if hides:
        message = "this #@hide line is inside the saved code; d2lbook would write it into the library, so it is left out; move it above"
        warnings.append(Warning_(cell.position_of(lines[hides[0]].number), message))
    return block


def _laid_out(cell: Cell, lines: list[Line], chosen: set[int], label: str | None, formatter: CodeFormatter) -> SavedBlock | None:
    """The chosen lines as the library shows them: marks removed, formatted, with their notes."""
    kept = [Line(SAVE_MARK.sub("", lines[index].text), lines[index].number) for index in sorted(chosen) if not hide_mark(lines[index].text)]
    formatted = _formatted(kept, formatter)
    if not formatted:
        return None
    noted = add_notes(formatted, label) if label else formatted
    found = formatter.parsed_once("\n".join(line.text for line in noted), statements)
    return SavedBlock(tuple(noted), cell.path, cell.cell, _kind(noted), tuple(_statement(*item) for item in found))


def marked_lines(lines: list[Line], mark: int) -> list[int]:
    """Indexes d2lbook saves for the mark at ``mark``: the marked line unless empty, the column-0 lines after it,
    then the indented or blank lines after those."""
    chosen = [mark] if SAVE_MARK.sub("", lines[mark].text).strip() else []
    index = mark + 1
    while index < len(lines) and lines[index].text.strip() and not _indented(lines[index].text):
        chosen.append(index)
        index += 1
    while index < len(lines) and (not lines[index].text.strip() or _indented(lines[index].text)):
        chosen.append(index)
        index += 1
    return chosen if any(lines[index].text.strip() for index in chosen) else []


def _indented(text: str) -> bool:
    return text[:1] in (" ", "\t")


CONTINUATION = re.compile(r"^\s*(?:[)\]}]|else\b|elif\b|except\b|finally\b)")


def _may_cut(lines: list[Line], chosen: set[int]) -> bool:
    """Whether d2lbook's extent may cut a statement, so the whole cell must be parsed to know: a line just
    outside the saved lines continues a statement (a closing bracket, ``else``, ``except``...), or a
    decorator or an indented line leads them. (Saved lines that do not parse are found once laid out.)"""
    for index in chosen:
        before, after = index - 1, index + 1
        if before >= 0 and before not in chosen and lines[before].text.lstrip().startswith("@"):
            return True
        if after < len(lines) and after not in chosen and CONTINUATION.match(lines[after].text):
            return True
    return _indented(lines[min(chosen)].text)


def cell_statements(cell: Cell, lines: list[Line]) -> tuple[Statement, ...]:
    """The cell's top-level statements, or BuildError at the line Python complains about."""
    found = statements("\n".join(line.text for line in lines))
    if not found and any(line.text.strip() and not line.text.lstrip().startswith("#") for line in lines):
        parse_cell(cell, lines, "#@save is used")  # raises with the position of the syntax error
    return found


def _whole_statements(
    cell: Cell, lines: list[Line], chosen: set[int], spans: tuple[Statement, ...], warnings: list[Warning_]
) -> set[int]:
    """``chosen`` grown to whole top-level statements where it cuts one (d2lbook would write broken code)."""
    grown = set(chosen)
    for statement in spans:
        span = set(range(statement.first - 1, statement.last))
        if span & chosen and not span <= chosen:
            grown |= span
            missing = sorted(span - chosen)
            where = cell.position_of(lines[missing[0]].number)
            warnings.append(Warning_(where, "this line continues a saved statement at column 0; d2lbook would drop it, so it is kept"))
    return grown


def _formatted(lines: list[Line], formatter: CodeFormatter) -> list[Line]:
    """The block laid out as d2lbook lays it out (imports sorted, trailing spaces and outer blank lines gone)."""
    text = formatter("\n".join(line.text for line in lines))
    if not text:
        return []
    return remap_lines(text.split("\n"), lines)


def remap_lines(texts: list[str], origin: list[Line]) -> list[Line]:
    """Give each output line the chapter line it came from (moved lines are found by their text)."""
    kept = _same_lines(texts, origin)
    if kept is not None:
        return kept
    by_text: dict[str, list[int]] = {}
    for line in origin:
        by_text.setdefault(line.text.strip(), []).append(line.number)
    result, last = [], origin[0].number if origin else 1
    for text in texts:
        numbers = by_text.get(text.strip())
        if numbers and text.strip():
            last = numbers.pop(0)
        result.append(Line(text, last))
    return result


def _same_lines(texts: list[str], origin: list[Line]) -> list[Line] | None:
    """The common case of ``remap_lines``: the output is a run of the origin's lines, right-stripped
    (blank lines dropped at the ends); None otherwise."""
    start = 0
    while start < len(origin) and not origin[start].text.strip():
        start += 1
    run = origin[start : start + len(texts)]
    if len(run) != len(texts) or any(line.text.rstrip() != text for line, text in zip(run, texts, strict=True)):
        return None
    result, last = [], origin[0].number if origin else 1
    for line, text in zip(run, texts, strict=True):
        if text.strip():
            last = line.number
        result.append(line if line.text == text and line.number == last else Line(text, last))
    return result


# --- "Defined in" notes ---------------------------------------------------------------------


def add_notes(lines: list[Line], label: str) -> list[Line]:
    """Add ``Defined in :numref:`label``` to each top-level def or class of a block, as d2lbook does.

    The note goes into the docstring after the first line of the definition that contains ``):`` (for a
    ``class A:`` without bases, that is its first method): appended to a one-line docstring, otherwise
    inserted as a new one (before a docstring that spans several lines, too).
    """
    result = list(lines)
    starts = [index for index, line in enumerate(result) if line.text.startswith(("def", "class"))]
    for start, end in reversed(list(zip(starts, [*starts[1:], len(result)], strict=False))):
        head = next((index for index in range(start, end) if "):" in result[index].text), None)
        if head is not None and head + 1 < len(result):
            result[head + 1 : head + 2] = _noted_docstring(result[head + 1], label)
    return result


def _noted_docstring(line: Line, label: str) -> list[Line]:
    """The line after a definition's head, with the note added (one line becomes three, or two)."""
    stripped = line.text.strip()
    indent = line.text[: len(line.text) - len(line.text.lstrip())]
    note = f"Defined in :numref:`{label}`"
    quote = stripped[:3]
    if quote in ('"""', "'''") and len(stripped) >= 6 and stripped.endswith(quote):
        body = line.text.rstrip()[:-3]
        return [Line(body, line.number), Line("", line.number), Line(f"{indent}{note}{quote}", line.number)]
    return [Line(f'{indent}"""{note}"""', line.number), line]


# --- names -----------------------------------------------------------------------------------


class Statement(NamedTuple):
    """A top-level statement of a saved block: its lines (1-based, decorators included), kind and bindings."""

    first: int
    last: int
    kind: str  # "def", "class", "import" or "code"
    names: tuple[str, ...]  # bare names it binds (a subscript, attribute or augmented assignment binds none)
    imports: tuple[tuple[str, str], ...]  # (name, module.attribute) for names an import binds


@lru_cache(maxsize=8192)
def statements(code: str) -> tuple[Statement, ...]:
    """The top-level statements of some code (magic lines ignored); none when it does not parse."""
    try:
        module = ast.parse("\n".join("#" + line if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n")))
    except (SyntaxError, RecursionError):
        return ()
    found = []
    for node in module.body:
        first = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])])
        found.append(Statement(first, node.end_lineno, _node_kind(node), tuple(defined_names(node)), _imports(node)))
    return tuple(found)


def kept_statements(formatter: CodeFormatter, code: str) -> tuple[Statement, ...]:
    """``statements(code)``, kept by content in the formatter's store."""
    return tuple(_statement(*item) for item in formatter.parsed_once(code, statements))


def _statement(first: int, last: int, kind: str, names, imports) -> Statement:
    """A Statement from its fields, as kept in a store (lists become tuples)."""
    return Statement(first, last, kind, tuple(names), tuple(tuple(pair) for pair in imports))


def _node_kind(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "def"
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    return "code"


def _imports(node: ast.stmt) -> tuple[tuple[str, str], ...]:
    if isinstance(node, ast.Import):
        return tuple((alias.asname or alias.name.split(".")[0], alias.name) for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return tuple((alias.asname or alias.name, f"{node.module}.{alias.name}") for alias in node.names if alias.name != "*")
    return ()


def defined_names(node: ast.stmt) -> list[str]:
    """Top-level names one statement binds with def, class, import or ``name = ...``."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Import):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [alias.asname or alias.name for alias in node.names if alias.name != "*"]
    if isinstance(node, ast.Assign):
        return [target.id for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    return []


def _kind(lines: list[Line]) -> str:
    first = lines[0].text
    if first.startswith(("def ", "@")):
        return "def"
    if first.startswith("class "):
        return "class"
    if all(line.text.startswith(("import ", "from ")) or not line.text.strip() for line in lines):
        return "import"
    return "code"


def add_to_class_target(text: str) -> str | None:
    """``C`` for a line ``@d2l.add_to_class(C)``, ``@d2l.add_to_class(d2l.C)`` or ``@add_to_class(C)``."""
    match = ADD_TO_CLASS.match(text)
    return match.group(1) if match else None
