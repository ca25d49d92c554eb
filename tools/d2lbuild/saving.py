"""Find the ``#@save`` blocks of one tab's cells: their extents, names, and docstring notes."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .errors import BuildError
from .source import Cell, Line
from .transforms import parse_cell

SAVE_MARK = re.compile(r"\s*#\s*@save\s*$")
LABEL = re.compile(r":label:`(sec_[^`]+)`")


@dataclass(frozen=True)
class SavedBlock:
    """Code saved into one tab's library, with where it came from."""

    lines: tuple[Line, ...]
    path: str
    cell: int | None
    names: tuple[str, ...]
    kind: str  # "def", "class", "import" or "code"
    add_to: str | None = None  # the class named in @d2l.add_to_class(C)
    decorator_lines: int = 0  # leading lines holding that decorator

    @property
    def line(self) -> int:
        return self.lines[0].number

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def saved_blocks(cells: list[Cell], all_cells: tuple[Cell, ...] = ()) -> list[SavedBlock]:
    """Every saved block of a tab's cells, in order; labels come from ``all_cells`` (default ``cells``)."""
    labels = _label_index(all_cells or tuple(cells))
    blocks: list[SavedBlock] = []
    for cell in cells:
        if cell.kind == "code" and "@save" in cell.text:
            blocks.extend(cell_blocks(cell, labels))
    return blocks


def _label_index(cells: tuple[Cell, ...] | list[Cell]) -> list[tuple[int, int, str]]:
    """(cell order, line, label) of every ``:label:`sec_...``` in Markdown."""
    found = []
    for cell in cells:
        if cell.kind == "markdown" and ":label:" in cell.text:
            for line in cell.lines:
                for match in LABEL.finditer(line.text):
                    found.append((cell.cell or 0, line.number, match.group(1)))
    return found


def _label_before(labels: list[tuple[int, int, str]], cell: Cell, number: int) -> str | None:
    key = (cell.cell or 0, number)
    before = [label for label in labels if (label[0], label[1]) < key]
    return before[-1][2] if before else None


def cell_blocks(cell: Cell, labels: list[tuple[int, int, str]]) -> list[SavedBlock]:
    """The blocks one code cell saves."""
    lines = list(cell.lines)
    marks = [index for index, line in enumerate(lines) if SAVE_MARK.search(line.text)]
    if not marks:
        return []
    module = parse_cell(cell, lines, "#@save is used")
    statements = [(_start(node), node.end_lineno, node) for node in module.body]
    chosen: dict[int, tuple[int, int, list[ast.stmt]]] = {}
    for mark in marks:
        start, end, nodes = _marked_extent(cell, lines, mark, statements)
        if start not in chosen:
            chosen[start] = (start, end, nodes)
    blocks = []
    for start, end, nodes in sorted(chosen.values(), key=lambda item: item[0]):
        label = _label_before(labels, cell, lines[start - 1].number)
        noted = _with_notes(lines, nodes, label)
        block_lines = noted[start - 1 : end + len(noted) - len(lines)]
        cleaned = tuple(Line(SAVE_MARK.sub("", line.text), line.number) for line in block_lines)
        blocks.append(_block(cell, cleaned, nodes))
    return blocks


def _start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


def _marked_extent(cell: Cell, lines: list[Line], mark: int, statements) -> tuple[int, int, list[ast.stmt]]:
    """1-based first and last line, and the statements, that the mark at index ``mark`` saves."""
    number = mark + 1
    position = cell.position_of(lines[mark].number)
    if lines[mark].text.strip().lstrip("#").strip() == "@save":  # a line of its own: up to the next blank line
        stop = next((i + 1 for i in range(mark + 1, len(lines)) if not lines[i].text.strip()), len(lines) + 1)
        nodes = [node for start, _, node in statements if number < start < stop]
        if not nodes:
            hint = "put it above the code to save, or at the end of its first line"
            raise BuildError(position, f"#@save marks no statement: {hint}")
        return number + 1, max(node.end_lineno for node in nodes), nodes
    for start, end, node in statements:
        if start <= number <= end:
            return start, end, [node]
    raise BuildError(position, "#@save marks no statement: this line belongs to no Python statement")


def _with_notes(lines: list[Line], nodes: list[ast.stmt], label: str | None) -> list[Line]:
    """The cell's lines with ``Defined in :numref:`label``` added to each saved def and class."""
    if label is None:
        return lines
    result = list(lines)
    for node in sorted(_documented(nodes), key=lambda n: n.lineno, reverse=True):
        result = _note_docstring(result, node, f"Defined in :numref:`{label}`")
    return result


def _documented(nodes: list[ast.stmt]) -> list[ast.stmt]:
    return [node for node in nodes if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _note_docstring(lines: list[Line], node: ast.stmt, note: str) -> list[Line]:
    first = node.body[0]
    if first.lineno == node.lineno:  # a one-line def: no room for a docstring
        return lines
    indent = " " * first.col_offset
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        index = first.end_lineno - 1
        text, origin = lines[index].text, lines[index].number
        head, tail = text[: first.end_col_offset], text[first.end_col_offset :]
        quote = '"""' if head.endswith('"""') else "'''" if head.endswith("'''") else None
        if quote is None:  # a one-line "..." docstring: add the note inside it
            return lines[:index] + [Line(head[:-1] + f"\\n\\n{note}" + head[-1] + tail, origin)] + lines[index + 1 :]
        body = head[: -len(quote)]
        if body.strip():
            new = [Line(body, origin), Line("", origin), Line(f"{indent}{note}{quote}{tail}", origin)]
        else:
            new = [Line("", origin), Line(f"{indent}{note}", origin), Line(text, origin)]
        return lines[:index] + new + lines[index + 1 :]
    index = _start(first) - 1
    return lines[:index] + [Line(f'{indent}"""{note}"""', lines[index].number)] + lines[index:]


def _block(cell: Cell, lines: tuple[Line, ...], nodes: list[ast.stmt]) -> SavedBlock:
    names: list[str] = []
    for node in nodes:
        names.extend(defined_names(node))
    kinds = {_kind(node) for node in nodes}
    kind = kinds.pop() if len(kinds) == 1 else "code"
    add_to, decorator_lines = None, 0
    if len(nodes) == 1 and isinstance(nodes[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        for decorator in nodes[0].decorator_list:
            target = add_to_class_target(decorator)
            if target and len(nodes[0].decorator_list) == 1:
                add_to, decorator_lines = target, decorator.end_lineno - decorator.lineno + 1
    return SavedBlock(lines, cell.path, cell.cell, tuple(names), kind, add_to, decorator_lines)


def _kind(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "def"
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "import"
    return "code"


def add_to_class_target(decorator: ast.expr) -> str | None:
    """``C`` for a decorator ``@d2l.add_to_class(C)``, ``@d2l.add_to_class(d2l.C)`` or ``@add_to_class(C)``."""
    if not (isinstance(decorator, ast.Call) and len(decorator.args) == 1):
        return None
    func, target = decorator.func, decorator.args[0]
    named = (isinstance(func, ast.Attribute) and func.attr == "add_to_class") or (
        isinstance(func, ast.Name) and func.id == "add_to_class"
    )
    if not named:
        return None
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "d2l":
        return target.attr  # a class saved in an earlier section, reached through the library
    return None


def defined_names(node: ast.stmt) -> list[str]:
    """Top-level names a statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Import):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [alias.asname or alias.name for alias in node.names if alias.name != "*"]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    names = []
    for target in targets:
        names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names
