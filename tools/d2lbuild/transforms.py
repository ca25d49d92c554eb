"""Turn a document into one tab's cells: choose the tab's cells, resolve tab branches, apply aliases."""

from __future__ import annotations

import ast
import re
from dataclasses import replace

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


# --- tab branches -------------------------------------------------------------------------


def branch_tabs(test: ast.expr) -> tuple[str, ...] | None:
    """The tabs an ``if`` test names: ``tab.selected('a', 'b')`` or ``d2l.USE_MXNET``; else None."""
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


def resolve_branches(cell: Cell, tab: str) -> Cell:
    """Keep the branch of each ``if tab.selected(...)`` that matches ``tab``, dedented."""
    if not _may_branch(cell.text):
        return cell
    lines = list(cell.lines)
    while _may_branch("\n".join(line.text for line in lines)):
        found = _first_branch(parse_cell(cell, lines, "the cell has a tab branch"))
        if found is None:
            break
        node, parent_body = found
        lines = _rewrite_branch(lines, node, tab in branch_tabs(node.test), len(parent_body) == 1)
    while _may_branch("\n".join(line.text for line in lines)):
        expression = _first_branch_expression(parse_cell(cell, lines, "the cell has a tab branch"))
        if expression is None:
            break
        lines = _rewrite_expression(cell, lines, expression, tab)
    return replace(cell, lines=tuple(lines))


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


def _first_branch(module: ast.Module) -> tuple[ast.If, list[ast.stmt]] | None:
    """The earliest tab branch and the statement list holding it (only statements are visited)."""
    best = None
    stack: list[list[ast.stmt]] = [module.body]
    while stack:
        body = stack.pop()
        for node in body:
            if isinstance(node, ast.If) and branch_tabs(node.test) is not None:
                if best is None or node.lineno < best[0].lineno:
                    best = (node, body)
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    stack.append(inner)
            stack.extend(handler.body for handler in getattr(node, "handlers", []))
            stack.extend(case.body for case in getattr(node, "cases", []))
    return best


def _rewrite_branch(lines: list[Line], node: ast.If, selected: bool, only_statement: bool) -> list[Line]:
    start, end = node.lineno - 1, node.end_lineno  # 0-based slice of the whole if statement
    indent = _indent(lines[start].text)
    body_end = node.body[-1].end_lineno  # 1-based, last line of the body
    else_index = _else_line(lines, body_end, end, indent) if node.orelse else None
    if selected:
        kept = _dedent(lines[start + 1 : else_index if else_index is not None else end], indent)
    elif else_index is None:
        kept = []
    elif lines[else_index].text.strip().startswith("elif"):
        head = lines[else_index]
        kept = [Line(head.text.replace("elif", "if", 1), head.number)] + lines[else_index + 1 : end]
    else:
        kept = _dedent(lines[else_index + 1 : end], indent)
    if not any(line.text.strip() for line in kept) and only_statement and indent:
        kept = [Line(" " * indent + "pass", lines[start].number)]
    return lines[:start] + kept + lines[end:]


def _else_line(lines: list[Line], body_end: int, end: int, indent: int) -> int | None:
    for index in range(body_end, end):
        text = lines[index].text
        if _indent(text) == indent and re.match(r"\s*(else\s*:|elif\b)", text):
            return index
    return None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _dedent(lines: list[Line], outer: int) -> list[Line]:
    """Shift a branch body left so its first statement sits at the ``if``'s indentation."""
    first = next((line for line in lines if line.text.strip()), None)
    if first is None:
        return []
    shift = _indent(first.text) - outer
    return [Line(line.text[min(shift, _indent(line.text)) :], line.number) for line in lines]


# --- aliases --------------------------------------------------------------------------------


def apply_aliases(cell: Cell, library: TabLibrary) -> Cell:
    """Rewrite ``d2l.`` aliases into the framework's own calls, as notebooks show them."""
    if cell.kind != "code" or "d2l." not in cell.text and not library.reverse_alias:
        return cell
    text = rewrite_aliases(cell.text, library)
    if text == cell.text:
        return cell
    new_lines = text.split("\n")
    numbers = [line.number for line in cell.lines]
    if len(new_lines) != len(numbers):  # a call that spanned lines was folded: keep the first lines' numbers
        numbers = (numbers + [numbers[-1]] * len(new_lines))[: len(new_lines)]
    return replace(cell, lines=tuple(Line(text, number) for text, number in zip(new_lines, numbers, strict=True)))


def rewrite_aliases(text: str, library: TabLibrary) -> str:
    """Apply fluent and args aliases (innermost first), then simple ones, then reverse ones."""
    calls = {name: ("fluent", target) for name, target in library.fluent_alias}
    calls.update({name: ("args", target) for name, target in library.args_alias})
    if calls:
        text = _rewrite_calls(text, calls)
    if library.simple_alias:
        simple = dict(library.simple_alias)
        pattern = re.compile(r"(?<![\w.])d2l\.(" + "|".join(map(re.escape, sorted(simple, key=len, reverse=True))) + r")\b")
        text = pattern.sub(lambda m: f"{library.lib_name}.{simple[m.group(1)]}", text)
    for regex, replacement in library.reverse_alias:
        text = re.sub(regex, replacement, text)
    return text


def _rewrite_calls(text: str, calls: dict[str, tuple[str, str]]) -> str:
    pattern = re.compile(r"(?<![\w.])d2l\.(" + "|".join(map(re.escape, sorted(calls, key=len, reverse=True))) + r")\s*\(")
    position = len(text)
    while True:
        match = _last_match(pattern, text, position)
        if match is None:
            return text
        closing = _matching_paren(text, match.end() - 1)
        args = split_arguments(text[match.end() : closing]) if closing is not None else []
        if closing is None or not args:
            position = match.start()
            continue
        kind, target = calls[match.group(1)]
        first, rest = args[0].strip(), text[match.end() : closing][len(args[0]) + 1 :] if len(args) > 1 else ""
        if kind == "fluent":
            new = f"{_wrap(first)}.{target}({_keep_newlines(rest)})"
        else:
            new = _fill_template(target, _wrap(first), _keep_newlines(rest))
        text = text[: match.start()] + new + text[closing + 1 :]
        position = match.start()


def _last_match(pattern: re.Pattern, text: str, before: int) -> re.Match | None:
    last = None
    for match in pattern.finditer(text, 0, before):
        last = match
    return last


def _keep_newlines(rest: str) -> str:
    """Arguments after the first, their leading spaces dropped unless a line break is among them."""
    stripped = rest.lstrip()
    lead = rest[: len(rest) - len(stripped)]
    return ("\n" * lead.count("\n")) + stripped.rstrip() if "\n" in lead else stripped.rstrip()


def _wrap(expression: str) -> str:
    """Parenthesise an expression used as a receiver, unless it is already atomic."""
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return f"({expression})"
    atomic = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.List, ast.Tuple, ast.Dict)
    return expression if isinstance(node, atomic) else f"({expression})"


def _fill_template(template: str, first: str, rest: str) -> str:
    """``x`` in the template is the first argument, ``args`` the others (dropped with their comma when empty)."""
    if not rest:
        template = re.sub(r",\s*\bargs\b", "", template)
        template = re.sub(r"\bargs\b", "", template)
    return re.sub(r"\b(x|args)\b", lambda m: first if m.group(1) == "x" else rest, template)


def _string_end(text: str, index: int) -> int:
    """Index just past the string literal that starts at ``index``."""
    quote = text[index : index + 3] if text[index : index + 3] in ('"""', "'''") else text[index]
    index += len(quote)
    while index < len(text):
        if text[index] == "\\":
            index += 2
        elif text.startswith(quote, index):
            return index + len(quote)
        else:
            index += 1
    return len(text)


def _matching_paren(text: str, open_index: int) -> int | None:
    """Index of the bracket closing the one at ``open_index`` (strings and comments skipped)."""
    depth, index = 0, open_index
    while index < len(text):
        char = text[index]
        if char in "\"'":
            index = _string_end(text, index)
            continue
        if char == "#":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def split_arguments(inner: str) -> list[str]:
    """Top-level comma-separated pieces of a call's argument text (brackets and strings respected)."""
    pieces, start, index, depth = [], 0, 0, 0
    while index < len(inner):
        char = inner[index]
        if char in "\"'":
            index = _string_end(inner, index)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(inner[start:index])
            start = index + 1
        index += 1
    tail = inner[start:]
    if tail.strip():
        pieces.append(tail)
    return pieces
