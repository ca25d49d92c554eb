"""What each chapter gives the libraries, kept by content for the next run: per tab, whether the section
exists there and its saved blocks; and the warnings reading the chapter gave.

An entry holds for the chapter's exact bytes; the whole store holds for one identity (d2lbuild's own
source, the config, the formatter), so a kept entry equals what reading the chapter again gives. After an
edit to one section, extract reads that section only.
"""

from __future__ import annotations

from pathlib import Path

from .errors import Position, Warning_
from .layout import SAVED_BLOCKS_STORE
from .saving import SavedBlock, Statement
from .source import new_lines
from .stores import StoreType, has_fields

STORE = SAVED_BLOCKS_STORE
BLOCK_STORE = StoreType("saved-blocks", 1, lambda data: has_fields(data, {"identity": str, "chapters": dict}), compact=True)


class SavedBlockStore:
    """``STORE``: for each chapter, the digest of its bytes and, per tab, its saved blocks and their warnings."""

    def __init__(self, root: Path, identity: str):
        self.path = root / STORE
        self.identity = identity
        data = BLOCK_STORE.read(self.path) or {}
        self.chapters: dict[str, dict] = data["chapters"] if data.get("identity") == identity else {}
        self.changed = False

    def get(self, chapter: str, content: str, tab: str) -> tuple[list[SavedBlock], list[Warning_]] | None:
        """The saved blocks (and their warnings) the chapter gives ``tab``; None when not kept."""
        data = self._tab_data(chapter, content, tab)
        try:
            return _blocks_from_data(data) if isinstance(data, dict) and "blocks" in data else None
        except (AttributeError, TypeError, ValueError, KeyError):  # a store from elsewhere: computed again
            return None

    def absent(self, chapter: str, content: str, tab: str) -> bool:
        """Whether the section is kept as not existing in ``tab`` (no cell names it)."""
        data = self._tab_data(chapter, content, tab)
        return isinstance(data, dict) and data.get("absent") is True

    def covers(self, chapter: str, content: str, tabs: tuple[str, ...]) -> bool:
        """Whether everything the libraries of ``tabs`` need from the chapter is kept, so it need not be read."""
        entry = self._entry(chapter, content)
        if entry is None or not isinstance(entry.get("reading"), list):
            return False
        return all(_kept_tab(self._tab_data(chapter, content, tab)) for tab in tabs)

    def reading_warnings(self, chapter: str, content: str) -> list[Warning_]:
        entry = self._entry(chapter, content)
        try:
            return [_warning_from_data(item) for item in entry["reading"]] if entry else []
        except (TypeError, ValueError, KeyError):
            return []

    def put(self, chapter: str, content: str, tab: str, blocks: list[SavedBlock], warnings: list[Warning_]) -> None:
        self._fresh_entry(chapter, content)["tabs"][tab] = _blocks_to_data(blocks, warnings)
        self.changed = True

    def put_absent(self, chapter: str, content: str, tab: str) -> None:
        entry = self._fresh_entry(chapter, content)
        if entry["tabs"].get(tab) != {"absent": True}:
            entry["tabs"][tab] = {"absent": True}
            self.changed = True

    def put_reading(self, chapter: str, content: str, warnings: tuple[Warning_, ...]) -> None:
        """The warnings reading the chapter gave (repeated when it is not read again)."""
        entry = self._fresh_entry(chapter, content)
        data = [_warning_to_data(warning) for warning in warnings]
        if entry.get("reading") != data:
            entry["reading"] = data
            self.changed = True

    def _entry(self, chapter: str, content: str) -> dict | None:
        entry = self.chapters.get(chapter)
        return entry if isinstance(entry, dict) and entry.get("content") == content and isinstance(entry.get("tabs"), dict) else None

    def _tab_data(self, chapter: str, content: str, tab: str):
        entry = self._entry(chapter, content)
        return entry["tabs"].get(tab) if entry is not None else None

    def _fresh_entry(self, chapter: str, content: str) -> dict:
        """The chapter's entry for these bytes, made anew when it held other bytes."""
        entry = self._entry(chapter, content)
        if entry is None:
            entry = self.chapters[chapter] = {"content": content, "tabs": {}}
        return entry

    def save(self, chapters: list[str]) -> None:
        """Keep the entries of ``chapters`` (the book as read now) when something new was found."""
        if not self.changed and set(self.chapters) <= set(chapters):
            return
        def merged(data: dict | None) -> dict:
            theirs = data["chapters"] if data and data["identity"] == self.identity else {}
            kept = {}
            for chapter in chapters:
                entry = _merged_entry(self.chapters.get(chapter), theirs.get(chapter))
                if entry is not None:
                    kept[chapter] = entry
            return {"identity": self.identity, "chapters": kept}

        self.chapters = BLOCK_STORE.update(self.path, merged)["chapters"]  # another build's tabs are kept too
        self.changed = False


def _merged_entry(mine: dict | None, theirs) -> dict | None:
    """A chapter's entry from this build and from the store as it is now: their tabs together for the same bytes."""
    def usable_entry(entry) -> bool:
        return isinstance(entry, dict) and isinstance(entry.get("tabs"), dict)

    usable = usable_entry(theirs)
    if not usable_entry(mine):
        return theirs if usable else None
    if usable and theirs.get("content") == mine.get("content"):
        return {**theirs, **mine, "tabs": {**theirs["tabs"], **mine["tabs"]}}
    return mine


def _kept_tab(data) -> bool:
    """Whether a tab's entry says something: the section is absent there, or its saved blocks are kept."""
    return isinstance(data, dict) and (data.get("absent") is True or isinstance(data.get("blocks"), list))


def _blocks_to_data(blocks: list[SavedBlock], warnings: list[Warning_]) -> dict:
    return {
        "blocks": [
            [[line.text for line in block.lines], [line.number for line in block.lines], block.path, block.cell, block.kind,
             [list(statement) for statement in block.statements]]
            for block in blocks
        ],
        "warnings": [_warning_to_data(warning) for warning in warnings],
    }


def _blocks_from_data(data: dict) -> tuple[list[SavedBlock], list[Warning_]]:
    blocks = []
    for texts, numbers, path, cell, kind, statements in data["blocks"]:
        found = tuple(
            Statement(first, last, what, tuple(names), tuple(tuple(pair) for pair in imports))
            for first, last, what, names, imports in statements
        )
        blocks.append(SavedBlock(tuple(new_lines(texts, numbers)), path, cell, kind, found))
    return blocks, [_warning_from_data(item) for item in data["warnings"]]


def _warning_to_data(warning: Warning_) -> list:
    where = warning.position
    if isinstance(where, Position):
        return [where.path, where.line, where.cell, warning.message]
    return [where, None, None, warning.message]


def _warning_from_data(item: list) -> Warning_:
    path, line, cell, message = item
    return Warning_(path if line is None else Position(path, line, cell), message)
