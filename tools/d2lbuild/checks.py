"""``d2lbuild check``: problems in the chapters and in the libraries they produce."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .book import Book
from .config import Config
from .errors import Position
from .library import Library
from .source import FENCE, OUTPUT_INFO
from .transforms import selected_calls


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parity: list[tuple[str, dict[str, bool]]] = field(default_factory=list)
    tabs: tuple[str, ...] = ()


def check_book(config: Config, book: Book, built: dict[str, Library], sloppy: list[str]) -> CheckReport:
    """Sloppy input (``sloppy``: what extract only warns about), committed outputs, undefined library names,
    orphan chapters and the parity of saved names."""
    report = CheckReport(tabs=config.tabs)
    report.errors.extend(warning.replace(": warning: ", ": ", 1) for warning in sloppy)
    for library in built.values():
        report.warnings.extend(str(warning) for warning in library.warnings)
    for path in sorted(book.documents):
        report.errors.extend(committed_outputs(book, path))
        report.errors.extend(unknown_selected_tabs(book, path, config.tabs))
    for tab, library in built.items():
        report.errors.extend(undefined_names(library, config.library(tab).lib_file))
    orphan = "warning: no toc reaches this file; its #@save blocks are not in the library"
    report.warnings.extend(f"{path}:1: {orphan}" for path in book.orphans)
    report.parity = parity(built)
    return report


def committed_outputs(book: Book, path: str) -> list[str]:
    """Executed outputs stored in a chapter (they belong in build/, not in the sources)."""
    found = []
    for cell in book.documents[path].cells:
        if cell.kind == "code" and cell.has_outputs:
            found.append(f"{cell.position}: outputs are committed in this cell; clear them before committing")
        elif cell.kind == "markdown" and ".output" in cell.text:
            for line in cell.lines:
                fence = FENCE.match(line.text)
                if fence and OUTPUT_INFO.match(fence.group(3).strip()):
                    found.append(f"{cell.position_of(line.number)}: an output block is committed here; remove it")
    return found


def unknown_selected_tabs(book: Book, path: str, tabs: tuple[str, ...]) -> list[str]:
    """``tab.selected('x')`` naming a tab the book does not have: its branch would silently vanish."""
    found = []
    for cell in book.documents[path].cells:
        if cell.kind != "code" or "selected(" not in cell.text:
            continue
        for line, names in selected_calls(cell.lines):
            for name in names:
                if name not in tabs:
                    found.append(f"{cell.position_of(line.number)}: tab.selected names unknown tab {name!r}; tabs = {', '.join(tabs)}")
    return found


def undefined_names(library: Library, lib_file: str) -> list[str]:
    """pyflakes' undefined names in a library, each named at the chapter line that saved it."""
    from pyflakes import checker, messages  # only check pays for this import

    try:
        tree = ast.parse(library.text)
    except SyntaxError as err:
        return [f"{lib_file}:{err.lineno}: the generated library does not parse: {err.msg}"]
    except RecursionError:
        return [f"{lib_file}:1: the generated library is nested too deeply for Python's parser"]
    problems = []
    for message in checker.Checker(tree, filename=lib_file).messages:
        if isinstance(message, messages.UndefinedName):
            where = chapter_position(library.index, message.lineno) or f"{lib_file}:{message.lineno}"
            text = message.message % message.message_args
            problems.append(f"{where}: {text} (in {lib_file}:{message.lineno})")
    return problems


def chapter_position(index: dict, lib_line: int) -> Position | None:
    """The chapter position of a library line, from the source map extract wrote."""
    for start, count, path, line, cell in index["source_map"]:
        if start <= lib_line < start + count:
            return Position(path, line + lib_line - start, cell)
    return None


def parity(built: dict[str, Library]) -> list[tuple[str, dict[str, bool]]]:
    """Saved def and class names present in some tabs but not in others."""
    names = {
        tab: {name for entry in lib.index["definitions"] if entry["kind"] in ("def", "class") for name in entry["names"]}
        for tab, lib in built.items()
    }
    every = set().union(*names.values()) if names else set()
    rows = []
    for name in sorted(every):
        present = {tab: name in names[tab] for tab in built}
        if not all(present.values()):
            rows.append((name, present))
    return rows
