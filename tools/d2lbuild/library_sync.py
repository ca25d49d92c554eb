"""``d2lbuild sync --from-library``: edits made to ``d2l/*.py`` brought back to the chapter blocks they came from."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from .booklock import book_lock
from .config import Config, load_config
from .edit import cell_lines, export, export_cells, read_chapter, source_text
from .errors import BuildError, Position
from .pipeline import BookInputs, check_tabs, libraries
from .sync import ChapterSync, conflicted, parse_chapter, sync_tab, write_chapter


@dataclass(frozen=True)
class LineEdit:
    """Chapter lines ``first``..``last`` (or, when ``last < first``, the place before ``first``) get ``texts``."""

    chapter: str
    first: int
    last: int
    texts: tuple[str, ...]
    library_line: Position
    old: tuple[str, ...] = ()  # the library's lines as extract writes them (dedented)


def library_edits(config: Config, tab: str, expected: str, runs: list) -> list[LineEdit]:
    """The differences between the library as extract writes it and as it is on disk, as chapter line edits."""
    lib_file = config.library(tab).lib_file
    try:
        actual = (config.root / lib_file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BuildError(lib_file, "no such library file: run `d2lbuild extract`") from None
    if actual == expected:
        return []
    origin: dict[int, tuple[str, int]] = {}
    for start, count, path, line, cell in runs:
        if cell is None:
            origin.update({start + k: (path, line + k) for k in range(count)})
    old, new = expected.split("\n"), actual.split("\n")
    edits = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        where = Position(lib_file, j1 + 1)
        if i2 > i1:
            mapped = [origin.get(index + 1) for index in range(i1, i2)]
            known = [item for item in mapped if item is not None]
            unknown = [old[index] for index, item in zip(range(i1, i2), mapped, strict=True) if item is None and old[index].strip()]
            if not known or unknown or len({path for path, _ in known}) > 1:
                raise BuildError(
                    where, "this edit touches lines that come from no single chapter block (the header, the aliases, a gap between blocks)"
                )
            indent = _indent(config, known[0], old[i1 + mapped.index(known[0])])
            texts = tuple(_dedent(text, indent) for text in new[j1:j2])
            old_texts = tuple(_dedent(text, indent) for text in old[i1:i2])
            edits.append(LineEdit(known[0][0], known[0][1], known[-1][1], texts, where, old_texts))
            continue
        before, after = origin.get(i1), origin.get(i1 + 1)
        anchor = (before[0], before[1] + 1) if before else after
        if anchor is None:
            raise BuildError(where, "these added lines follow no chapter block: add new definitions in a chapter")
        edits.append(LineEdit(anchor[0], anchor[1], anchor[1] - 1, tuple(new[j1:j2]), where))
    return edits


def _indent(config: Config, origin: tuple[str, int], library_text: str) -> str:
    """The indentation the library adds to a chapter line (methods added to a class are indented)."""
    chapter_line = read_chapter(config, origin[0]).line(origin[1])
    extra = library_text[: len(library_text) - len(chapter_line)] if library_text.endswith(chapter_line) else ""
    return extra if not extra.strip() else ""


def _dedent(text: str, indent: str) -> str:
    return text[len(indent) :] if indent and text.startswith(indent) else text


def edited_notebook(config: Config, relpath: str, tab: str, edits: list[LineEdit]) -> tuple[dict, dict]:
    """The chapter's notebook in ``tab`` as exported, and with the library's edits made to its cells."""
    chapter = read_chapter(config, relpath)
    base = export(config, chapter, tab)
    cells = export_cells(config, chapter, tab)
    where: dict[int, tuple[int, int]] = {}
    for index, item in enumerate(cells):
        where.update({number: (index, k) for k, number in enumerate(item.numbers) if number is not None})
    texts = [cell_lines(source_text(cell)) for cell in base["cells"]]
    for edit in sorted(edits, key=lambda edit: (edit.first, edit.last), reverse=True):
        found = where.get(edit.first) or (where.get(edit.first - 1) if edit.last < edit.first else None)
        if found is None:
            raise BuildError(edit.library_line, f"comes from {relpath}:{edit.first}, which the {tab} notebook does not show")
        index, k = found
        if edit.last < edit.first:
            position = k if where.get(edit.first) else k + 1
            texts[index][position:position] = list(edit.texts)
            continue
        last = where.get(edit.last)
        if last is None or last[0] != index:
            raise BuildError(edit.library_line, f"the edit spans several blocks of {relpath}; edit the chapter instead")
        texts[index][k : last[1] + 1] = transplant(edit, texts[index][k : last[1] + 1], relpath)
    edited = dict(base)
    edited["cells"] = [{**cell, "source": "\n".join(lines)} for cell, lines in zip(base["cells"], texts, strict=True)]
    return edited, base


def transplant(edit: LineEdit, cell_texts: list[str], relpath: str) -> list[str]:
    """The cell's lines with the library's edit made to them. The library writes some lines differently (a
    ``#@save`` mark dropped, a note added to a docstring): a line edited one for one keeps what follows it."""
    if list(edit.old) == cell_texts:
        return list(edit.texts)
    if len(edit.old) == len(cell_texts) == len(edit.texts):
        result = []
        for old, cell, new in zip(edit.old, cell_texts, edit.texts, strict=True):
            if not cell.startswith(old):
                break
            result.append(new + cell[len(old) :])
        else:
            return result
    where = f"{relpath}:{edit.first}"
    raise BuildError(
        edit.library_line, f"the edit touches lines the library writes differently from {where} (a docstring note); edit the chapter there"
    )


def sync_from_library(root: Path, tabs: tuple[str, ...] | None = None, split: bool = False) -> list[ChapterSync]:
    """Every edit made to a tab's library file written back into the chapters, by the rules of ``sync``."""
    with book_lock(root):
        return _sync_from_library(root, tabs, split)


def _sync_from_library(root: Path, tabs: tuple[str, ...] | None = None, split: bool = False) -> list[ChapterSync]:
    config = load_config(root)
    tabs = check_tabs(config, tabs)
    built = libraries(BookInputs(config, keep=False), tabs)
    by_chapter: dict[str, dict[str, list[LineEdit]]] = {}
    for tab in tabs:
        for edit in library_edits(config, tab, built[tab].text, built[tab].index["source_map"]):
            by_chapter.setdefault(edit.chapter, {}).setdefault(tab, []).append(edit)
    results = []
    for relpath, per_tab in sorted(by_chapter.items()):
        chapter = read_chapter(config, relpath)
        original = chapter.text
        if conflicted(original):
            raise BuildError(chapter.position(conflicted(original)[0]), "conflict markers of an earlier sync: resolve them first")
        result = ChapterSync(relpath, sorted(per_tab), written=False)
        for tab, edits in sorted(per_tab.items()):
            edited, base = edited_notebook(config, relpath, tab, edits)
            synced = sync_tab(config, chapter, tab, edited, base, split, shown=config.library(tab).lib_file)
            result.notes.extend(synced.notes)
            result.conflicts.extend(synced.conflicts)
            result.changed_cells += synced.changed_cells
            chapter = parse_chapter(relpath, synced.text, config.tabs)
        result.written = write_chapter(config, relpath, original, chapter.text)
        results.append(result)
    return results
