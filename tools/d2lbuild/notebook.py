"""Emit one tab's notebook for a section, as nbformat v4 JSON (written without importing nbformat)."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import replace

from .config import TabLibrary
from .formats import is_markdown
from .formatting import CodeFormatter
from .saving import remap_lines
from .source import Cell, Line, hidden_code
from .transforms import apply_aliases

NBFORMAT, NBFORMAT_MINOR = 4, 5
DISPLAY_NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet", "jax": "JAX"}


def kernel_name(tab: str) -> str:
    return f"d2l-{tab}"


def kernelspec(tab: str) -> dict:
    return {"name": kernel_name(tab), "display_name": f"Python 3 (d2l, {DISPLAY_NAMES.get(tab, tab)})", "language": "python"}


def notebook_for(path: str, cells: list[Cell], library: TabLibrary, formatter: CodeFormatter) -> dict:
    """The notebook of one section in one tab: aliases applied, code laid out as d2lbook does, positions kept."""
    nb_cells = []
    for cell in _merge_markdown(cells):
        if cell.kind == "code":
            cell = _formatted(apply_aliases(cell, library, formatter), formatter)
            nb_cells.append(_code_cell(cell, len(nb_cells)))
        else:
            nb_cells.append(_markdown_cell(cell, len(nb_cells)))
    return {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": kernelspec(library.tab),
            "language_info": {"name": "python"},
            "d2lbuild": {"source": path, "tab": library.tab},
        },
        "nbformat": NBFORMAT,
        "nbformat_minor": NBFORMAT_MINOR,
    }


def dumps(notebook: dict) -> str:
    """Deterministic JSON with one line per cell and per top-level key: diffs show cells, and the standard
    encoder stays in C (an ``indent`` would make it pure Python, several times slower)."""
    parts = []
    for key, value in sorted(notebook.items()):
        if key == "cells" and value:
            cells = ",\n  ".join(_compact(cell) for cell in value)
            parts.append(f'"cells": [\n  {cells}\n ]')
        else:
            parts.append(f"{_compact(key)}: {_compact(value)}")
    return "{\n " + ",\n ".join(parts) + "\n}\n"


def _compact(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _formatted(cell: Cell, formatter: CodeFormatter) -> Cell:
    """A code cell with its imports sorted and trailing spaces removed, lines still naming the chapter."""
    text = formatter(cell.text)
    if text == cell.text:
        return cell
    return replace(cell, lines=tuple(remap_lines(text.split("\n"), list(cell.lines))) if text else ())


def _merge_markdown(cells: list[Cell]) -> list[Cell]:
    """Markdown split from one notebook cell of an .ipynb chapter becomes one cell again (Markdown files keep their cells)."""
    merged: list[Cell] = []
    for cell in cells:
        if cell.cell is None:
            merged.append(cell)
            continue
        if cell.kind == "markdown" and merged and merged[-1].kind == "markdown" and merged[-1].cell == cell.cell:
            previous = merged.pop()
            cell = Cell("markdown", previous.lines + cell.lines, None, cell.path, cell.cell)
        merged.append(cell)
    return merged


def _trimmed(cell: Cell) -> list:
    lines = list(cell.lines)
    while lines and not lines[0].text.strip():
        lines.pop(0)
    while lines and not lines[-1].text.strip():
        lines.pop()
    return lines


def _source(lines: list) -> list[str]:
    texts = [line.text for line in lines]
    return [text + "\n" for text in texts[:-1]] + texts[-1:]


def _position(cell: Cell, lines: list, line_map: bool) -> dict:
    """Where the cell comes from; code cells whose lines are not consecutive also list each line."""
    position = {"path": cell.path, "line": lines[0].number if lines else cell.position.line}
    if cell.cell is not None:
        position["cell"] = cell.cell
    numbers = [line.number for line in lines]
    if line_map and numbers != list(range(position["line"], position["line"] + len(numbers))):
        position["lines"] = numbers
    return position


def _cell_id(kind: str, index: int) -> str:
    return f"{kind[:2]}{index:04d}"


def _markdown_cell(cell: Cell, index: int) -> dict:
    source, position = _markdown_body(cell.lines, cell.path, cell.cell, cell.tabs is None)
    return {
        "cell_type": "markdown",
        "id": _cell_id("markdown", index),
        "metadata": {"d2lbuild": dict(position)},
        "source": list(source),
    }


@functools.lru_cache(maxsize=4096)
def _markdown_body(lines: tuple[Line, ...], path: str, number: int | None, shared: bool) -> tuple[tuple[str, ...], tuple]:
    """A Markdown cell's source and position, once per cell: shared Markdown is the same in every tab."""
    cell = Cell("markdown", lines, None if shared else (), path, number)
    kept = _trimmed(cell)
    texts = [line.text for line in kept]
    if is_markdown(path):
        texts = markdown_layout(texts, shared)
    return tuple(text + "\n" for text in texts or [""]), tuple(_position(cell, kept, False).items())


FENCE_OPEN = re.compile(r"^(`{3,}|~{3,})(.*)$")
BACKTICK_FENCE = re.compile(r"^(```+) *(.*)$")


def markdown_layout(texts: list[str], shared: bool = True) -> list[str]:
    """Markdown laid out as d2lbook gives it in a notebook.

    Its reader first takes every fenced block out of the prose: the prose around is trimmed of blank lines and
    joined to the block by one blank line before it and two after it. Shared prose (not in a tab block) is then
    cut at its ```` ``` ```` fences once more: each piece, and the inside of each fence, trimmed and one blank line
    apart.
    """
    text = "\n\n".join(_fenced_pieces(texts))
    if shared:
        text = "\n\n".join(_backtick_pieces(text.split("\n")))
    return text.strip().split("\n") if text.strip() else []


def _fenced_pieces(texts: list[str]) -> list[str]:
    """Prose pieces (trimmed, empty ones dropped) and fenced blocks (as they are, with a line end)."""
    pieces: list[str] = []
    prose: list[str] = []
    index = 0
    while index < len(texts):
        opening = FENCE_OPEN.match(texts[index])
        end = _fence_end(texts, index, opening.group(1)) if opening else None
        if end is None:
            prose.append(texts[index])
            index += 1
            continue
        pieces.append("\n".join(prose).strip())
        pieces.append("\n".join(texts[index : end + 1]) + "\n")
        prose = []
        index = end + 1
    pieces.append("\n".join(prose).strip())
    return [piece for piece in pieces if piece]


def _backtick_pieces(texts: list[str]) -> list[str]:
    """Prose cut at ```` ``` ```` fences: trimmed prose pieces (empty ones dropped) and each fence rewritten with its
    inside trimmed."""
    pieces: list[str] = []
    current: list[str] = []
    opened: tuple[str, str] | None = None  # the open fence's backticks and info string
    for text in texts:
        fence = BACKTICK_FENCE.match(text)
        if fence is None or (opened is not None and fence.group(1) != opened[0]):
            current.append(text)
            continue
        body = "\n".join(current).strip()
        if opened is None:
            pieces.append(body)
            opened = (fence.group(1), fence.group(2))
        else:
            pieces.append("\n".join([opened[0] + opened[1], body, opened[0]]).strip())
            opened = None
        current = []
    body = "\n".join(current).strip()
    pieces.append("\n".join([opened[0] + opened[1], body, opened[0]]).strip() if opened else body)
    return [piece for piece in pieces if piece]


def _fence_end(texts: list[str], start: int, fence: str) -> int | None:
    return next((index for index in range(start + 1, len(texts)) if texts[index] == fence), None)


def is_hidden(notebook_cell: dict) -> bool:
    """Whether an emitted notebook cell is a hidden cell (its code had a ``#@hide`` line)."""
    return bool(notebook_cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"))


def _code_cell(cell: Cell, index: int) -> dict:
    lines = _trimmed(cell)
    metadata: dict = {"d2lbuild": _position(cell, lines, True)}
    if hidden_code(line.text for line in lines):
        metadata["jupyter"] = {"source_hidden": True}  # Jupyter shows the cell collapsed; see is_hidden
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": _cell_id("code", index),
        "metadata": metadata,
        "outputs": [],
        "source": _source(lines),
    }
