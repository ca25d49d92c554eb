"""Merge one section's notebooks of every tab into a page: shared parts once, the rest as tab sets.

Cells are aligned by the chapter position each came from (the ``d2lbuild`` cell metadata): a code cell by
the code fence that holds its first line, a Markdown line by the chapter line it copies. A hidden code cell
(a ``#@hide`` line in its code: plumbing the notebook runs, marked so in its metadata when the notebook is
emitted) is left out, outputs and all; the prose on either side of it stays two paragraphs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..notebook import is_hidden

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


@dataclass(frozen=True)
class Line:
    """A line of prose and the chapter line it came from."""

    number: int
    text: str


@dataclass(frozen=True)
class Prose:
    """Markdown lines, blank lines included."""

    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Code:
    """A code cell with its outputs (nbformat dicts)."""

    line: int
    source: str
    outputs: tuple[dict, ...] = ()


@dataclass(frozen=True)
class TabSet:
    """One framework-specific part: for each tab, its blocks (empty: the tab has nothing here)."""

    kind: str  # "code" when some tab has code here, else "prose"
    parts: tuple[tuple[str, tuple[Prose | Code, ...]], ...]


Block = Prose | Code | TabSet


@dataclass(frozen=True)
class SectionNotebooks:
    """One section's notebooks: tab -> notebook dict (tabs without a notebook are absent)."""

    path: str
    tabs: tuple[str, ...]
    notebooks: dict[str, dict]
    executed: frozenset[str] = frozenset()
    chapter_lines: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Page:
    """A section as the site shows it."""

    path: str
    tabs: tuple[str, ...]
    missing: tuple[str, ...]
    not_run: tuple[str, ...]
    blocks: tuple[Block, ...]


@dataclass
class _Item:
    key: tuple[int, int, int]
    kind: str  # "prose", "code" or "gap" (where a hidden code cell was)
    lines: list[Line] = field(default_factory=list)
    code: Code | None = None

    def signature(self) -> str:
        if self.code is not None:
            return json.dumps([self.code.source, [_plain_output(o) for o in self.code.outputs]], sort_keys=True)
        return "\n".join(line.text for line in self.lines if line.text.strip())


def merge(section: SectionNotebooks) -> Page:
    """The page of a section: items of every tab aligned by chapter position, then grouped into blocks."""
    present = tuple(tab for tab in section.tabs if tab in section.notebooks)
    fences = fence_starts(section.chapter_lines) if section.chapter_lines is not None else {}
    items = {tab: notebook_items(section.notebooks[tab], section.chapter_lines, fences) for tab in present}
    keys = sorted({key for tab_items in items.values() for key in tab_items})
    blocks = _group(keys, items, present)
    missing = tuple(tab for tab in section.tabs if tab not in section.notebooks)
    not_run = tuple(tab for tab in present if tab not in section.executed)
    return Page(section.path, present, missing, not_run, tuple(blocks))


def notebook_items(notebook: dict, chapter_lines, fences: dict[int, int]) -> dict[tuple, _Item]:
    """Every nonblank prose line and every code cell of a notebook, keyed by chapter position."""
    items: dict[tuple, _Item] = {}
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("d2lbuild", {})
        start, cell_index = _number(meta.get("line")), _number(meta.get("cell"))
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "code":
            key = _free_key(items, (cell_index, fences.get(start, start), 0))
            if is_hidden(cell):
                items[key] = _Item(key, "gap")
                continue
            items[key] = _Item(key, "code", code=Code(start, source, tuple(cell.get("outputs", []))))
        elif cell.get("cell_type") == "markdown":
            lines = chapter_numbers(source.split("\n"), start, chapter_lines if cell_index == 0 else None)
            _add_prose(items, cell_index, lines)
    return items


def _add_prose(items: dict, cell_index: int, lines: list[Line]) -> None:
    """Key each nonblank line; blank lines ride with the line after them."""
    pending: list[Line] = []
    for line in lines:
        if not line.text.strip():
            pending.append(line)
            continue
        key = _free_key(items, (cell_index, line.number, 0))
        items[key] = _Item(key, "prose", lines=pending + [line])
        pending = []


def _free_key(items: dict, key: tuple[int, int, int]) -> tuple[int, int, int]:
    while key in items:
        key = (key[0], key[1], key[2] + 1)
    return key


def chapter_numbers(texts: list[str], start: int, chapter_lines) -> list[Line]:
    """The chapter line of each line of a Markdown cell starting at ``start``.

    The cell's lines are the chapter's lines from ``start`` on, less those of other tabs, so each is matched
    to the next chapter line with the same text; without the chapter, lines count up from ``start``.
    """
    if chapter_lines is None:
        return [Line(start + i, text) for i, text in enumerate(texts)]
    result, cursor, last = [], start, start
    for text in texts:
        if not text.strip():
            result.append(Line(last, text))
            continue
        found = _find(chapter_lines, text, cursor)
        if found is not None:
            last, cursor = found, found + 1
        result.append(Line(last, text))
    return result


def _find(chapter_lines, text: str, cursor: int) -> int | None:
    wanted = text.rstrip()
    for number in range(max(cursor, 1), len(chapter_lines) + 1):
        if chapter_lines[number - 1].rstrip() == wanted:
            return number
    return None


def fence_starts(chapter_lines) -> dict[int, int]:
    """Each line inside a fenced block -> the line of its opening fence."""
    starts: dict[int, int] = {}
    opening, run = 0, ""
    for number, text in enumerate(chapter_lines, 1):
        match = FENCE.match(text)
        if not run:
            if match:
                opening, run = number, match.group(1)
            continue
        starts[number] = opening
        if match and text.strip() == run:
            run = ""
    return starts


def _group(keys: list[tuple], items: dict[str, dict[tuple, _Item]], tabs: tuple[str, ...]) -> list[Block]:
    """Shared items become blocks of their own; each run of framework-specific items (prose and code), one tab set."""
    blocks: list[Block] = []
    run: list[tuple] = []
    gap = False  # a hidden cell since the last shared block: the prose after it starts a paragraph
    for key in keys:
        present = {tab: items[tab][key] for tab in tabs if key in items[tab]}
        if any(item.kind == "gap" for item in present.values()):
            if run:
                run.append(key)
            else:
                gap = True
            continue
        if _shared(present, tabs):
            if run:
                blocks.append(_tab_set(run, items, tabs))
                run = []
            _append_shared(blocks, present[tabs[0]], gap)
            gap = False
            continue
        run.append(key)
    if run:
        blocks.append(_tab_set(run, items, tabs))
    return blocks


def _shared(present: dict[str, _Item], tabs: tuple[str, ...]) -> bool:
    if len(present) != len(tabs) or len({item.kind for item in present.values()}) != 1:
        return False
    return len({item.signature() for item in present.values()}) == 1


def _append_shared(blocks: list[Block], item: _Item, gap: bool = False) -> None:
    if item.code is not None:
        blocks.append(item.code)
    elif blocks and isinstance(blocks[-1], Prose):
        lines = tuple(item.lines)
        if gap and blocks[-1].lines and blocks[-1].lines[-1].text.strip() and lines and lines[0].text.strip():
            lines = (Line(lines[0].number, ""), *lines)  # the prose on either side of a hidden cell: two paragraphs
        blocks[-1] = Prose(blocks[-1].lines + lines)
    else:
        blocks.append(Prose(tuple(item.lines)))


def _tab_set(keys: list[tuple], items: dict[str, dict[tuple, _Item]], tabs: tuple[str, ...]) -> TabSet:
    parts = []
    for tab in tabs:
        blocks: list[Block] = []
        gap = False
        for key in keys:
            item = items[tab].get(key)
            if item is not None and item.kind == "gap":
                gap = True
            elif item is not None:
                _append_shared(blocks, item, gap)
                gap = False
        parts.append((tab, tuple(_trim(blocks))))
    kinds = {items[tab][key].kind for tab in tabs for key in keys if key in items[tab]}
    return TabSet("code" if "code" in kinds else "prose", tuple(parts))


def _trim(blocks: list[Block]) -> list[Block]:
    """Drop leading blank lines of a tab's prose (they separated it from what came before)."""
    if blocks and isinstance(blocks[0], Prose):
        lines = list(blocks[0].lines)
        while lines and not lines[0].text.strip():
            lines.pop(0)
        blocks[0] = Prose(tuple(lines))
    return blocks


def has_code(page: Page) -> bool:
    """Whether any tab of the page shows code."""
    return any(isinstance(block, Code) or (isinstance(block, TabSet) and block.kind == "code") for block in page.blocks)


def _number(value) -> int:
    """A position from cell metadata; anything else (absent, not a number) counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _plain_output(output: dict) -> dict:
    """An output without the fields that differ between identical runs."""
    return {key: value for key, value in output.items() if key not in ("execution_count", "metadata")}
