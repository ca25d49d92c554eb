"""Emit one tab's notebook for a section, as nbformat v4 JSON (written without importing nbformat)."""

from __future__ import annotations

import json

from .config import TabLibrary
from .source import Cell
from .transforms import apply_aliases

NBFORMAT, NBFORMAT_MINOR = 4, 5
DISPLAY_NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet", "jax": "JAX"}


def kernel_name(tab: str) -> str:
    return f"d2l-{tab}"


def kernelspec(tab: str) -> dict:
    return {"name": kernel_name(tab), "display_name": f"Python 3 (d2l, {DISPLAY_NAMES.get(tab, tab)})", "language": "python"}


def notebook_for(path: str, cells: list[Cell], library: TabLibrary) -> dict:
    """The notebook of one section in one tab: aliases applied, Markdown runs merged, positions kept."""
    nb_cells = []
    for cell in _merge_markdown(cells):
        if cell.kind == "code":
            cell = apply_aliases(cell, library)
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
    """Deterministic JSON, laid out as nbformat writes it."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _merge_markdown(cells: list[Cell]) -> list[Cell]:
    merged: list[Cell] = []
    for cell in cells:
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
    lines = _trimmed(cell)
    return {
        "cell_type": "markdown",
        "id": _cell_id("markdown", index),
        "metadata": {"d2lbuild": _position(cell, lines, False)},
        "source": _source(lines),
    }


def _code_cell(cell: Cell, index: int) -> dict:
    lines = _trimmed(cell)
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": _cell_id("code", index),
        "metadata": {"d2lbuild": _position(cell, lines, True)},
        "outputs": [],
        "source": _source(lines),
    }
