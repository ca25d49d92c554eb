"""Turn a document into one tab's cells: choose the tab's cells, resolve tab branches, apply aliases."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from functools import lru_cache

from .aliases import TextStore, rewrite_aliases
from .config import TabLibrary
from .errors import BuildError
from .source import Cell, Document, Line

LEGACY_FLAGS = {"USE_MXNET": "mxnet", "USE_PYTORCH": "pytorch", "USE_TENSORFLOW": "tensorflow", "USE_JAX": "jax"}
MAGIC = re.compile(r"^\s*[%!]")


def select_tab(document: Document, tab: str) -> list[Cell]:
    """The document's cells for ``tab``, helper cells dropped and tab branches resolved."""
    cells = []
    for cell in document.cells:
        if not cell.for_tab(tab) or cell.helper:
            continue
        if cell.kind == "code":
            cell = resolve_branches(cell, tab)
        cells.append(cell)
    return cells


def has_code(document: Document) -> bool:
    return any(cell.kind == "code" and not cell.helper for cell in document.cells)


def in_tab(document: Document, tab: str, default_tab: str, code_only: bool = False) -> bool:
    """Whether a section exists in ``tab``, as d2lbook decides: it has no code, or a cell or tab block names
    ``tab`` explicitly, or ``tab`` is the default tab and some code cell is for it (``#@tab all`` included).

    In any other tab, ``#@tab all`` alone does not make a section exist: it has no notebook there. For the
    libraries (``code_only``) d2lbook looks at code cells only: a tab block naming a tab gives that tab a
    notebook, but none of the section's code in its library.
    """
    cells = [cell for cell in document.cells if cell.kind == "code"] if code_only else document.cells
    if not has_code(document) or any(tab in cell.named for cell in cells):
        return True
    return tab == default_tab and any(cell.kind == "code" and not cell.helper and cell.for_tab(tab) for cell in document.cells)


def python_text(lines: tuple[Line, ...] | list[Line]) -> str:
    """Cell text with magic lines (``%%tab``, ``!pip``) commented out, so ``ast`` can parse it."""
    return "\n".join(("#" + line.text) if MAGIC.match(line.text) else line.text for line in lines)


def parse_cell(cell: Cell, lines: tuple[Line, ...] | list[Line], why: str) -> ast.Module:
    """Parse code lines, or raise BuildError at the line Python complains about."""
    try:
        return ast.parse(python_text(lines))
    except SyntaxError as err:
        index = min(max((err.lineno or 1) - 1, 0), max(len(lines) - 1, 0))
        number = lines[index].number if lines else cell.position.line
        raise BuildError(cell.position_of(number), f"{why}, but the cell does not parse: {err.msg}") from None
    except RecursionError:  # valid Python, but deeper than CPython's parser goes
        raise BuildError(cell.position, f"{why}, but the cell is nested too deeply for Python's parser") from None


# --- tab branches -------------------------------------------------------------------------


def branch_tabs(test: ast.expr) -> tuple[str, ...] | None:
    """The tabs an ``if`` test names: ``tab.selected('a', 'b')``, ``d2l.USE_MXNET``, or such tests joined by ``or``."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        parts = [branch_tabs(value) for value in test.values]
        if any(part is None for part in parts):
            return None
        return tuple(dict.fromkeys(name for part in parts for name in part))
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Attribute)
        and test.func.attr == "selected"
        and isinstance(test.func.value, ast.Name)
        and test.func.value.id == "tab"
    ):
        return tuple(arg.value for arg in test.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    if isinstance(test, ast.Attribute) and test.attr in LEGACY_FLAGS:
        return (LEGACY_FLAGS[test.attr],)
    if isinstance(test, ast.Name) and test.id in LEGACY_FLAGS:
        return (LEGACY_FLAGS[test.id],)
    return None


def selected_calls(lines: tuple[Line, ...] | list[Line]) -> list[tuple[Line, tuple[str, ...]]]:
    """Each ``tab.selected(...)`` call of some code, found by Python's parser, with its line and the names it gives."""
    try:
        module = ast.parse(python_text(lines))
    except (SyntaxError, RecursionError):
        return []
    found = []
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and branch_tabs(node) is not None and isinstance(node.func, ast.Attribute):
            found.append((lines[node.lineno - 1], branch_tabs(node)))
    return sorted(found, key=lambda item: item[0].number)


def resolve_branches(cell: Cell, tab: str) -> Cell:
    """Keep the branch of each ``if tab.selected(...)`` that matches ``tab``, dedented, as d2lbook reads them."""
    if not _may_branch(cell.text):
        return cell
    lines = _resolve_statements(list(cell.lines), tab)
    while _may_branch("\n".join(line.text for line in lines)):
        try:
            module = ast.parse(python_text(lines))
        except (SyntaxError, RecursionError):
            break
        expression = _first_branch_expression(module)
        if expression is None:
            break
        lines = _rewrite_expression(cell, lines, expression, tab)
    return replace(cell, lines=tuple(lines))


BRANCH_LINE = re.compile(r"^(\s*)(if|elif)\s+(.+?):\s*(?:#.*)?$")
ELSE_LINE = re.compile(r"^(\s*)else\s*:\s*(?:#.*)?$")


@lru_cache(maxsize=4096)
def _line_branch(text: str) -> tuple[int, str, tuple[str, ...]] | None:
    """(indentation, keyword, tabs) of a line ``if tab.selected(...):`` or ``elif ...``; None for other lines."""
    match = BRANCH_LINE.match(text)
    if not match or "selected(" not in match.group(3) and "USE_" not in match.group(3):
        return None
    try:
        test = ast.parse(match.group(3).strip(), mode="eval").body
    except (SyntaxError, RecursionError):
        return None
    tabs = branch_tabs(test)
    return None if tabs is None else (len(match.group(1)), match.group(2), tabs)


def _resolve_statements(lines: list[Line], tab: str) -> list[Line]:
    """Resolve tab branches line by line, the way d2lbook does.

    A branch line ``if tab.selected(...):`` (or ``elif``/``else`` after it) opens a region: the lines after
    it that are blank or indented deeper. The chosen region is kept, shifted left to the branch's
    indentation; the others are dropped with their blank lines. A branch line inside a region starts a
    region of its own (regions do not nest).
    """
    result: list[Line] = []
    region: tuple[int, bool, int | None] | None = None  # indentation, keep, shift (set by the first line)
    taken = False  # whether a branch of the current if/elif/else chain was kept
    for line in lines:
        branch = _line_branch(line.text)
        other = ELSE_LINE.match(line.text)
        if branch is not None:
            indent, keyword, tabs = branch
            if keyword == "if" or region is None or region[0] != indent:
                taken = False
            keep = tab in tabs and not taken
            taken = taken or keep
            region = (indent, keep, None)
            continue
        if other is not None and region is not None and len(other.group(1)) == region[0]:
            region = (region[0], not taken, None)
            taken = True
            continue
        if region is not None and (not line.text.strip() or _indent(line.text) > region[0]):
            indent, keep, shift = region
            if keep:
                if shift is None and line.text.strip():
                    shift = _indent(line.text) - indent
                    region = (indent, keep, shift)
                result.append(Line(line.text[min(shift or 0, _indent(line.text)) :], line.number))
            continue
        region = None
        result.append(line)
    return _fill_empty_bodies(result)


def _fill_empty_bodies(lines: list[Line]) -> list[Line]:
    """A ``pass`` under a block opener whose whole body was a dropped branch (d2lbook leaves it empty).

    Only code that no longer parses is touched, and only when the ``pass`` makes it parse.
    """
    filled = _with_pass(lines)
    if len(filled) == len(lines) or _parses(lines):
        return lines
    return filled if _parses(filled) else lines


def _parses(lines: list[Line]) -> bool:
    try:
        ast.parse(python_text(lines))
    except (SyntaxError, RecursionError):
        return False
    return True


def _with_pass(lines: list[Line]) -> list[Line]:
    code = [index for index, line in enumerate(lines) if line.text.strip() and not line.text.lstrip().startswith("#")]
    empty = set()
    for position, index in enumerate(code):
        text = lines[index].text
        after = lines[code[position + 1]].text if position + 1 < len(code) else None
        if text.split("#", 1)[0].rstrip().endswith(":") and (after is None or _indent(after) <= _indent(text)):
            empty.add(index)
    if not empty:
        return lines
    filled: list[Line] = []
    for index, line in enumerate(lines):
        filled.append(line)
        if index in empty:
            filled.append(Line(" " * (_indent(line.text) + 4) + "pass", line.number))
    return filled


def _first_branch_expression(module: ast.Module) -> ast.IfExp | None:
    """The earliest ``a if tab.selected(...) else b`` expression."""
    found = [node for node in ast.walk(module) if isinstance(node, ast.IfExp) and branch_tabs(node.test) is not None]
    return min(found, key=lambda node: (node.lineno, node.col_offset)) if found else None


def _rewrite_expression(cell: Cell, lines: list[Line], node: ast.IfExp, tab: str) -> list[Line]:
    """Replace a one-line conditional expression on a tab by the branch for ``tab``."""
    if node.lineno != node.end_lineno:
        raise BuildError(cell.position_of(lines[node.lineno - 1].number), "a tab.selected(...) expression must fit on one line")
    line = lines[node.lineno - 1]
    chosen = node.body if tab in branch_tabs(node.test) else node.orelse
    text = line.text.encode()  # ast offsets count UTF-8 bytes
    branch = text[chosen.col_offset : chosen.end_col_offset].decode()
    new = text[: node.col_offset].decode() + f"({branch})" + text[node.end_col_offset :].decode()
    return lines[: node.lineno - 1] + [Line(new, line.number)] + lines[node.lineno :]


def _may_branch(text: str) -> bool:
    return "selected(" in text or "USE_" in text


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


# --- aliases --------------------------------------------------------------------------------


def apply_aliases(cell: Cell, library: TabLibrary, store: TextStore | None = None) -> Cell:
    """Rewrite ``d2l.`` aliases into the framework's own calls, as notebooks show them (kept in ``store``)."""
    if cell.kind != "code" or "d2l." not in cell.text:
        return cell
    text = rewrite_aliases(cell.text, library, store)
    if text == cell.text:
        return cell
    new_lines = text.split("\n")
    numbers = [line.number for line in cell.lines]
    if len(new_lines) != len(numbers):  # a rewritten call changed the line count: later lines keep their order
        numbers = (numbers + [numbers[-1]] * len(new_lines))[: len(new_lines)]
    return replace(cell, lines=tuple(Line(text, number) for text, number in zip(new_lines, numbers, strict=True)))
