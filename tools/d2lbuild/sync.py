"""Write the edits made to one framework's notebook of a chapter back into the chapter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from .booklock import book_lock
from .config import Config, load_config
from .edit import (
    Block,
    Chapter,
    Exported,
    body_range,
    carry_over,
    cell_lines,
    chapter_relpath,
    code_closed,
    edit_path,
    export,
    export_cells,
    load_notebook,
    parse_chapter,
    provenance,
    read_chapter,
    record,
    source_text,
    tab_mark_line,
    text_digest,
)
from .errors import BuildError, Position
from .formats import MARKDOWN, NOTEBOOK_SUFFIX
from .fsutil import write_atomic, write_if_changed
from .layout import EDIT_DIR
from .notebook import dumps
from .pipeline import check_tabs
from .source import TAB_MARK, tab_marker
from .stopping import checkpoint

SAVE_MARK = "#@save"
CONFLICT_START, CONFLICT_MIDDLE, CONFLICT_END = "<<<<<<< chapter", "=======", ">>>>>>> notebook"


@dataclass(frozen=True)
class Change:
    """Chapter lines ``start``..``end`` replaced by ``lines`` (an insertion before ``start`` when ``end < start``)."""

    start: int
    end: int
    lines: tuple[str, ...]
    order: int = 0
    conflict: str | None = None  # the message of a conflict these lines mark


@dataclass
class TabSync:
    """What syncing one tab's notebook into a chapter's text gives."""

    text: str
    notes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    changed_cells: int = 0


class Unwritable(BuildError):
    """An edit that cannot be written back as asked (the chapter is left as it was)."""


# --- matching the notebook to the chapter as it is now ----------------------------------------


def align_blocks(exported: list[str], chapter: Chapter) -> tuple[dict[int, Block], dict[int, Block | None]]:
    """Blocks as exported -> the same block now (unchanged), and -> the block that replaced it (changed or gone)."""
    current = list(chapter.blocks)
    matcher = SequenceMatcher(None, exported, [block.digest for block in current], autojunk=False)
    same: dict[int, Block] = {}
    changed: dict[int, Block | None] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(i2 - i1):
            if tag == "equal":
                same[i1 + offset] = current[j1 + offset]
            else:
                changed[i1 + offset] = current[j1 + offset] if j1 + offset < j2 else None
    return same, changed


# --- one cell's edit ----------------------------------------------------------------------------


def patch(chapter: Chapter, exported: Exported, new: list[str], shared: bool) -> list[Change] | None:
    """The new text as changes to the chapter lines it came from, or None when an edit touches lines that cannot
    be traced to the chapter, or (in a block other frameworks share) lines the notebook shows differently."""
    texts = exported.texts
    real = real_lines(chapter, exported)
    changes = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, texts, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lines = new[j1:j2]
        if any(real[i] is None and texts[i].strip() for i in range(i1, i2)):
            return None  # a line the layout made: it is nowhere in the chapter
        region = [real[i] for i in range(i1, i2) if real[i] is not None]
        if region:
            if not _replaceable(chapter, region, [texts[i] for i in range(i1, i2) if real[i] is not None], shared):
                return None
            if len(region) == len(lines):
                lines = [_keep_save_mark(chapter.line(number), text) for number, text in zip(region, lines, strict=True)]
            changes.append(Change(region[0], region[-1], tuple(lines)))
            continue
        before = next((real[i] for i in range(i1 - 1, -1, -1) if real[i] is not None), None)
        after = next((real[i] for i in range(i2, len(real)) if real[i] is not None), None)
        if before is not None:
            changes.append(Change(before + 1, before, tuple(lines)))
        elif after is not None:
            changes.append(Change(after, after - 1, tuple(lines)))
        else:
            first, _ = body_range(chapter, exported.block)
            changes.append(Change(first, first - 1, tuple(lines)))
    return changes


def real_lines(chapter: Chapter, exported: Exported) -> list[int | None]:
    """The chapter line of each notebook line, None for lines the layout made (a blank line isort adds takes
    the number of a neighbour) or that cannot be traced."""
    numbers = exported.numbers
    seen: dict[int, int] = {}
    for number in numbers:
        if number is not None:
            seen[number] = seen.get(number, 0) + 1
    real: list[int | None] = []
    for number, text in zip(numbers, exported.texts, strict=True):
        same = number is not None and chapter.line(number).rstrip() == text.rstrip()
        real.append(number if same or number is not None and seen[number] == 1 else None)
    return real


def _replaceable(chapter: Chapter, region: list[int], texts: list[str], shared: bool) -> bool:
    """Whether chapter lines ``region`` may be replaced: in order, with only blank lines hidden between them, and
    (when shared) each shown as it is written."""
    if region != sorted(set(region)):
        return False
    hidden = set(range(region[0], region[-1] + 1)) - set(region)
    if any(chapter.line(number).strip() for number in hidden):
        return False
    return not shared or all(chapter.line(n).rstrip() == text.rstrip() for n, text in zip(region, texts, strict=True))


def _keep_save_mark(old: str, new: str) -> str:
    """A ``#@save`` stays on the statement it marked when the edit dropped it."""
    if SAVE_MARK in old and SAVE_MARK not in new and new.strip():
        return f"{new.rstrip()}  {SAVE_MARK}"
    return new


def replace_body(chapter: Chapter, block: Block, new: list[str]) -> Change:
    """The block's text between its marks replaced by ``new``."""
    first, last = body_range(chapter, block)
    return Change(first, last, tuple(new))


def retag(chapter: Chapter, block: Block, others: tuple[str, ...]) -> list[Change]:
    """The block made the ``others`` tabs' only: its mark or tab block names them."""
    names = ", ".join(others)
    if block.cell.kind == "code":
        number = tab_mark_line(chapter, block)
        if number is None:  # a cell without a mark is the default tab's: it is never shared
            raise BuildError(chapter.position(block.start), "a code cell without a tab mark belongs to one tab only")
        text = chapter.line(number)
        mark = TAB_MARK.match(text)
        return [Change(number, number, (f"{text[: mark.start(1)].rstrip()} {names}",))]
    if (tab_marker(chapter.line(block.start)) or ("",))[0] == "begin":
        return [Change(block.start, block.start, (f":begin_tab:`{names}`",))]
    first, last = _non_blank(chapter, block)
    return [Change(first, first - 1, (f":begin_tab:`{names}`",)), Change(last + 1, last, (":end_tab:",), order=-1)]


def _non_blank(chapter: Chapter, block: Block) -> tuple[int, int]:
    numbers = [n for n in range(block.start, block.end + 1) if chapter.line(n).strip()]
    return (numbers[0], numbers[-1]) if numbers else (block.start, block.end)


def new_block(kind: str, tab: str, texts: list[str], marks: dict | None = None) -> list[str]:
    """A block for ``tab`` only, holding ``texts``."""
    marks = marks or {}
    if kind == "code":
        return [marks.get("open", "```{.python .input}"), f"#@tab {tab}", *texts, marks.get("close", "```")]
    return [f":begin_tab:`{tab}`", *texts, ":end_tab:"]


def rendered(kind: str, texts: list[str], marks: dict) -> list[str]:
    """A notebook cell as chapter lines with the marks it was exported with."""
    if kind == "code":
        return [
            marks.get("open", "```{.python .input}"),
            *([marks["tab"]] if "tab" in marks else []),
            *texts,
            *([marks["close"]] if "close" in marks else []),
        ]
    if "begin" in marks:
        return [marks["begin"], *texts, *([marks["end"]] if "end" in marks else [])]
    return texts


# --- one tab ------------------------------------------------------------------------------------


class TabSyncer:
    """Syncs one tab's notebook into a chapter's text, by the rules of ``d2lbuild sync``."""

    def __init__(self, config: Config, chapter: Chapter, tab: str, split: bool):
        self.config, self.chapter, self.tab, self.split = config, chapter, tab, split
        self.changes: list[Change] = []
        self.notes: list[str] = []
        self.changed = 0
        self.order = 0

    def add(self, change: Change) -> None:
        self.order += 1
        self.changes.append(Change(change.start, change.end, change.lines, change.order or self.order, change.conflict))

    def shared_tabs(self, block: Block) -> tuple[str, ...]:
        return tuple(tab for tab in block.tabs(self.config) if tab != self.tab)

    def where(self, block: Block) -> Position:
        return self.chapter.position(_non_blank(self.chapter, block)[0])

    def edited(self, block: Block, exported: Exported, new: list[str]) -> bool:
        """A cell whose block did not change in the chapter and whose text did in the notebook; whether it changes
        the chapter."""
        if new == exported.texts:
            return False
        others = self.shared_tabs(block)
        if others and self.split:
            self.split_off(block, new)
            return True
        changes = patch(self.chapter, exported, new, bool(others))
        if changes is None and others:
            raise Unwritable(
                self.where(block),
                f"the {self.tab} edit changes lines that {', '.join(others)} see differently (tab branches or aliases); "
                f"sync --split makes the block {self.tab}'s own",
            )
        for change in changes if changes is not None else [replace_body(self.chapter, block, new)]:
            self.add(change)
        if others:
            tabs = ", ".join(block.tabs(self.config))
            self.notes.append(
                f"{self.where(block)}: shared by {tabs}: the {self.tab} edit applies to all of them"
                f" (sync --split makes it {self.tab}'s own)"
            )
        return True

    def split_off(self, block: Block, new: list[str]) -> None:
        """The shared block stays for the other tabs; a block for this tab alone, holding ``new``, follows it."""
        for change in retag(self.chapter, block, self.shared_tabs(block)):
            self.add(change)
        marks = {"open": self.chapter.line(block.start)} if block.cell.kind == "code" else {}
        if block.cell.kind == "code" and code_closed(self.chapter, block):
            marks["close"] = self.chapter.line(block.end)
        last = _non_blank(self.chapter, block)[1]
        self.add(Change(last + 1, last, ("", *new_block(block.cell.kind, self.tab, new, marks))))
        self.notes.append(
            f"{self.where(block)}: split: the block stays for {', '.join(self.shared_tabs(block))}, and {self.tab} has its own below it"
        )

    def deleted(self, block: Block) -> None:
        """A cell deleted from the notebook whose block did not change in the chapter."""
        others = self.shared_tabs(block)
        if not others:
            start, end = block.start, block.end
            if (
                end < len(self.chapter.raw)
                and not self.chapter.line(end + 1).strip()
                and not any(other.start <= end + 1 <= other.end for other in self.chapter.blocks)
                and (start == 1 or not self.chapter.line(start - 1).strip())
            ):
                end += 1  # the blank line that separated it goes too
            self.add(Change(start, end, ()))
        elif self.split:
            for change in retag(self.chapter, block, others):
                self.add(change)
            self.notes.append(f"{self.where(block)}: split: the block is kept for {', '.join(others)} only")
        else:
            self.notes.append(
                f"{self.where(block)}: deleted in {self.tab}, kept: {', '.join(others)} share it"
                f" (sync --split removes it from {self.tab} only)"
            )

    def conflict(self, block: Block | None, anchor: int, kind: str, new: list[str] | None, marks: dict) -> None:
        """Conflict markers: the chapter's block as it is now, then the notebook's version."""
        chapter_side = [self.chapter.line(n) for n in range(block.start, block.end + 1)] if block else []
        notebook_side = rendered(kind, new, marks) if new is not None else []
        lines = (CONFLICT_START, *chapter_side, CONFLICT_MIDDLE, *notebook_side, f"{CONFLICT_END} ({self.tab})")
        what = "changed" if new is not None else "deleted"
        message = (
            f"conflict: this block changed in the chapter since `d2lbuild edit` and was {what} in the {self.tab} notebook;"
            " keep one side, remove the markers, then export the chapter again (`d2lbuild edit --force`, or reopen it in Jupyter)"
        )
        if block is not None:
            self.add(Change(block.start, block.end, lines, conflict=message))
        else:
            self.add(Change(anchor + 1, anchor, lines, conflict=message))

    def inserted(self, anchor: int, kind: str, texts: list[str], before: bool) -> None:
        """A new block for this tab after line ``anchor`` (``before`` the first block: ahead of any other change there)."""
        lines = new_block(kind, self.tab, texts)
        order = -1_000_000 + self.order if before else 0
        self.add(Change(anchor + 1, anchor, tuple([*lines, ""] if before else ["", *lines]), order=order))


def sync_tab(
    config: Config, chapter: Chapter, tab: str, notebook: dict, base: dict | None = None, split: bool = False, shown: str = ""
) -> TabSync:
    """The chapter's text with ``notebook``'s edits written back; ``base`` is the notebook as exported (default:
    the notebook's own metadata, which ``d2lbuild edit`` wrote)."""
    own = base is None  # the notebook carries its own record (d2lbuild edit wrote it)
    base = notebook if base is None else base
    exported_record = record(base, shown or edit_path(tab, chapter.path))
    base_cells = {cell["id"]: meta for cell in base["cells"] if isinstance(cell.get("id"), str) and (meta := provenance(cell)) is not None}
    same, changed = align_blocks([str(item) for item in exported_record["blocks"]], chapter)
    now = {item.block.index: item for item in export_cells(config, chapter, tab)}
    syncer = TabSyncer(config, chapter, tab, split)
    claimed: set[int] = set()  # the exported blocks a cell of the notebook stands for
    anchor: int | None = None
    waiting: list[tuple[str, list[str]]] = []  # new cells before any known one
    for cell in notebook["cells"]:
        kind = cell.get("cell_type")
        text = source_text(cell)
        meta = _known(cell, base_cells, own, claimed)
        if meta is None:
            if kind in ("code", "markdown") and text.strip():
                if anchor is None:
                    waiting.append((kind, cell_lines(text)))
                else:
                    syncer.inserted(anchor, kind, cell_lines(text), before=False)
                    syncer.changed += 1
            continue
        claimed.add(meta["block"])
        edited = text_digest(text) != meta["source"]
        block = same.get(meta["block"])
        if block is not None:
            anchor = _non_blank(chapter, block)[1]
            if edited:
                exported = now.get(block.index)
                if exported is None or exported.cell["cell_type"] != kind:
                    raise Unwritable(
                        chapter.position(block.start), f"the block is no longer in the {tab} notebook; export the chapter again"
                    )
                syncer.changed += syncer.edited(block, exported, cell_lines(text))
            continue
        current = changed.get(meta["block"])
        already = current is not None and current.index in now and now[current.index].texts == cell_lines(text)
        if edited and not already:  # changed on both sides, unless to the same text
            syncer.conflict(current, anchor or 0, kind, cell_lines(text), meta["marks"])
        if current is not None:
            anchor = _non_blank(chapter, current)[1]
    listed = [entry for entry in exported_record["cells"] if isinstance(entry, list) and len(entry) == 2]
    for _, index in listed:
        if index in claimed or not isinstance(index, int):
            continue
        if index in same:
            syncer.deleted(same[index])
            syncer.changed += 1
        elif changed.get(index) is not None:
            block = changed[index]
            syncer.conflict(block, block.start - 1, "markdown", None, {})
    if waiting:
        first = min((_non_blank(chapter, block)[0] for block in same.values()), default=len(chapter.raw) + 1)
        for kind, texts in waiting:
            syncer.inserted(first - 1, kind, texts, before=first <= len(chapter.raw))
            syncer.changed += 1
    text, conflicts = apply(chapter, syncer.changes)
    return TabSync(text, syncer.notes, conflicts, syncer.changed)


def _known(cell: dict, base_cells: dict, own: bool, claimed: set[int]) -> dict | None:
    """The exported block a notebook cell stands for: found by the cell's id in the record (or, in a notebook
    carrying its own record, by the cell's metadata when a tool dropped the id). None for a new cell: one the
    record does not know, a second copy of a cell, or a cell whose type changed (its old block is deleted)."""
    meta = base_cells.get(cell.get("id")) if isinstance(cell.get("id"), str) else None
    if meta is None and own:  # ids dropped or made anew by another tool
        meta = provenance(cell)
    if meta is None or meta["block"] in claimed or meta.get("kind", cell.get("cell_type")) != cell.get("cell_type"):
        return None
    return meta if cell.get("cell_type") in ("code", "markdown") else None


def apply(chapter: Chapter, changes: list[Change]) -> tuple[str, list[str]]:
    """The chapter's text with ``changes`` made, and each conflict's message at the line of its marker."""
    newline = chapter.newline
    out: list[str] = []
    conflicts: list[str] = []
    line = 1
    ordered = sorted(changes, key=lambda change: (change.start, change.end >= change.start, change.order))
    for change in ordered:
        if change.start < line:
            raise Unwritable(
                chapter.position(change.start), "two edits of the notebook touch the same chapter lines; sync them one at a time"
            )
        out.extend(chapter.raw[line - 1 : change.start - 1])
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += newline
        if change.conflict:
            conflicts.append(f"{Position(chapter.path, len(out) + 1)}: {change.conflict}")
        out.extend(text + newline for text in change.lines)
        line = max(line, change.end + 1)
    out.extend(chapter.raw[line - 1 :])
    text = "".join(out)
    if chapter.text and not chapter.text.endswith(("\n", "\r")) and text.endswith(newline):
        text = text[: -len(newline)]
    return text, conflicts


# --- d2lbuild sync -------------------------------------------------------------------------------


@dataclass
class ChapterSync:
    """What ``sync`` did to one chapter."""

    chapter: str
    tabs: list[str]
    written: bool
    notes: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    changed_cells: int = 0
    warnings: list[str] = field(default_factory=list)


def sync_chapter(
    config: Config, relpath: str, notebooks: dict[str, dict], split: bool = False, bases: dict[str, dict] | None = None
) -> tuple[ChapterSync, str, str]:
    """Each tab's notebook synced in turn into the chapter; returns the report, the old and the new text."""
    chapter = read_chapter(config, relpath)
    original = chapter.text
    unresolved = conflicted(original)
    if unresolved:
        raise BuildError(
            chapter.position(unresolved[0]),
            "conflict markers of an earlier sync: resolve them, then export the chapter again (`d2lbuild edit --force`)",
        )
    result = ChapterSync(relpath, sorted(notebooks), written=False)
    for tab in sorted(notebooks):
        synced = sync_tab(config, chapter, tab, notebooks[tab], (bases or {}).get(tab), split)
        result.notes.extend(synced.notes)
        result.conflicts.extend(synced.conflicts)
        result.changed_cells += synced.changed_cells
        chapter = parse_chapter(relpath, synced.text, config.tabs)
    return result, original, chapter.text


def refreshed(config: Config, relpath: str, text: str, tab: str, notebook: dict) -> dict:
    """The notebook exported again from the chapter's new text, keeping its cells' ids and outputs."""
    return carry_over(notebook["cells"], export(config, parse_chapter(relpath, text, config.tabs), tab))


def write_chapter(config: Config, relpath: str, original: str, text: str) -> bool:
    """Write the chapter atomically when its text changed and the file still holds what was read."""
    if text == original:
        return False
    path = config.root / relpath
    if path.read_bytes() != original.encode("utf-8"):
        raise BuildError(relpath, "changed on disk while syncing; run sync again")
    write_atomic(path, text.encode("utf-8"))
    return True


def edited_notebooks(config: Config, chapters: list[str], tabs: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    """chapter -> tab -> exported notebook, for the chapters given (all exported ones when none is)."""
    found: dict[str, dict[str, Path]] = {}
    if chapters:
        for relpath in chapters:
            for tab in tabs:
                path = config.root / edit_path(tab, relpath)
                if path.is_file():
                    found.setdefault(relpath, {})[tab] = path
            if relpath not in found:
                raise BuildError(relpath, f"no notebook under {EDIT_DIR}/ for this chapter: run `d2lbuild edit {relpath}` first")
        return found
    for tab in tabs:
        folder = config.root / EDIT_DIR / tab
        for path in sorted(folder.rglob(f"*{NOTEBOOK_SUFFIX}")) if folder.is_dir() else []:
            if ".ipynb_checkpoints" in path.parts:
                continue
            stem = path.relative_to(folder).as_posix()[: -len(NOTEBOOK_SUFFIX)]
            found.setdefault(stem + MARKDOWN.extension, {})[tab] = path  # only Markdown chapters are edited
    return found


def sync(
    root: Path, chapters: list[str | Path] | None = None, tabs: tuple[str, ...] | None = None, split: bool = False
) -> list[ChapterSync]:
    """``d2lbuild sync``: every exported notebook's edits written back into its chapter."""
    with book_lock(root):
        return _sync(root, chapters, tabs, split)


def _sync(
    root: Path, chapters: list[str | Path] | None = None, tabs: tuple[str, ...] | None = None, split: bool = False
) -> list[ChapterSync]:
    config = load_config(root)
    tabs = check_tabs(config, tabs)
    relpaths = [chapter_relpath(config, chapter) for chapter in chapters or []]
    results = []
    for relpath, paths in sorted(edited_notebooks(config, relpaths, tabs).items()):
        checkpoint()  # between chapters: each chapter and its notebooks are written together
        if not relpaths and not (config.root / relpath).is_file():
            shown = ", ".join(edit_path(tab, relpath) for tab in paths)
            results.append(
                ChapterSync(relpath, sorted(paths), False, warnings=[f"{shown}: warning: its chapter {relpath} is gone; skipped"])
            )
            continue
        notebooks = {tab: load_notebook(path, edit_path(tab, relpath)) for tab, path in paths.items()}
        for tab, notebook in notebooks.items():
            chapter = record(notebook, edit_path(tab, relpath)).get("chapter")
            if chapter != relpath:
                raise BuildError(edit_path(tab, relpath), f"was exported from {chapter}, not {relpath}")
        result, original, text = sync_chapter(config, relpath, notebooks, split)
        result.written = write_chapter(config, relpath, original, text)
        if not result.conflicts:
            for tab, notebook in notebooks.items():
                write_if_changed(config.root / edit_path(tab, relpath), dumps(refreshed(config, relpath, text, tab, notebook)))
        results.append(result)
    return results


def conflicted(text: str) -> list[int]:
    """Lines holding conflict markers sync wrote."""
    return [number for number, line in enumerate(text.splitlines(), 1) if re.match(rf"^({CONFLICT_START}$|{CONFLICT_END} )", line)]
