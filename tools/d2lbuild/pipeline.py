"""The build's library API: extract the libraries and write the notebooks (no printing here)."""

from __future__ import annotations

import difflib
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .block_store import SavedBlockStore
from .book import Book, load_book, notebook_files
from .booklock import book_lock
from .checks import CheckReport, check_book
from .config import Config, load_config
from .errors import BuildError, Warning_
from .formats import NOTEBOOK_SUFFIX
from .formatting import CodeFormatter, isort_version, isort_view
from .fsutil import file_digest, source_digest, write_if_changed
from .guard import check_build_links, check_library_outputs, inside_build
from .hashing import digest
from .layout import FORMATTING_STORE, READING_ORDER, library_index_path, notebook_path, notebooks_dir
from .library import LIBRARY_INDEX_STORE, Library, build_library
from .notebook import dumps, notebook_for
from .saving import SavedBlock, kept_statements, saved_blocks
from .source import Cell, read_document
from .state import BuildState
from .stopping import checkpoint
from .stores import StoreType, has_fields
from .transforms import in_tab, select_tab

READING_ORDER_STORE = StoreType("reading-order", 1, lambda data: has_fields(data, {"order": list, "orphans": list}))


def check_tabs(config: Config, tabs: tuple[str, ...] | None) -> tuple[str, ...]:
    """The tabs asked for (all when None), each checked against config."""
    if not tabs or tabs == ("all",):
        return config.tabs
    for tab in tabs:
        if tab not in config.tabs:
            raise BuildError("config.ini", f"unknown tab {tab!r}; [build] tabs = {', '.join(config.tabs)}")
    return tabs


# --- extract -------------------------------------------------------------------------------


@dataclass
class ExtractReport:
    """What extract did (or, with check, would do)."""

    summaries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    skipped: bool = False


def code_formatter(config: Config) -> CodeFormatter:
    """The book's code formatter, keeping what it formatted under build/ for the next run."""
    return CodeFormatter(config.root, config.root / FORMATTING_STORE, written_names(config))


def written_names(config: Config) -> frozenset[str]:
    """The names at the book's root that extract writes (the libraries' top folders or files, the version file's)."""
    paths = [lib.lib_file for lib in config.libraries] + ([config.version_file] if config.version_file else [])
    return frozenset(PurePosixPath(path).parts[0].split(".", 1)[0] for path in paths if PurePosixPath(path).parts)


def saves_code(text: str) -> bool:
    """Whether a chapter's text may hold a ``#@save`` mark (the chapters a library is made of)."""
    return "@save" in text


class BookInputs:
    """What extract and notebooks read, loaded once (and only when needed) when one process runs both."""

    def __init__(self, config: Config, keep: bool = True, library_tabs: tuple[str, ...] | None = None):
        self.config = config
        self.keep = keep  # whether results are kept in build/ for the next run (check writes nothing)
        # the tabs whose libraries are made, when chapters are read only as needed (extract alone, or see
        # ``read_only_what_changed``): a chapter is read when it saves code and what it gives these libraries
        # is not kept from an earlier run (toc files are always read)
        self.library_tabs = library_tabs
        self.chapters = notebook_files(config)
        check_library_outputs(config, config.tabs, self.chapters)
        if keep:
            check_build_links(config.root)
        # what the states are keyed on besides the chapters: the config, and the formatter that lays out code
        self.settings = digest(f"{config.digest}\0{isort_version()}\0{isort_view(config.root, written_names(config))}")
        self._reading_for_notebooks = False
        self._notebooks_state: BuildState | None = None  # the notebooks' last run, when its records hold
        self._notebook_chapters = set(self.chapters)
        self._kept_notebooks: dict[str, str | None] = {}
        self._book: Book | None = None
        self._formatter: CodeFormatter | None = None
        self._store: SavedBlockStore | None = None
        self._tab_cells: dict[tuple[str, str], list[Cell]] = {}
        self._saved: dict[tuple[str, str], tuple[list[SavedBlock], list[Warning_]]] = {}

    def start(self, name: str) -> BuildState:
        """A command's recorded state, its inputs digested before anything reads them."""
        state = BuildState(self.config.root, name)
        state.snapshot(self.chapters + [f"{self.config.index}.md"])
        return state

    @property
    def book(self) -> Book:
        if self._book is None:
            self._book = load_book(self.config, self._needed if self.library_tabs else None)
        return self._book

    def read_only_what_changed(self, tabs: tuple[str, ...], notebooks: BuildState) -> None:
        """Before the book is read, for a run that makes notebooks: a chapter is read only when what it gives
        the libraries is not kept, or one of its notebooks in ``tabs`` is not as ``notebooks`` recorded it."""
        if self._book is not None:
            raise RuntimeError("the book was read already")
        self.library_tabs = tabs
        self._notebooks_state = notebooks if notebooks.same_settings(self.settings) else None
        self._reading_for_notebooks = True

    def _needed(self, relpath: str, text: str, content: str) -> bool:
        """Whether a chapter's cells must be read (see ``library_tabs`` and ``read_only_what_changed``)."""
        tabs, state = self.library_tabs or (), self._notebooks_state
        if not self._reading_for_notebooks:  # extract alone
            return saves_code(text) and not self.store.covers(relpath, content, tabs)
        if state is None or not self.store.covers(relpath, content, tabs):
            return True
        if relpath not in self._notebook_chapters:
            return False
        notebooks = [notebook_path(tab, relpath) for tab in tabs if not self.store.absent(relpath, content, tab)]
        return not all(self.kept_notebook(state, relpath, content, notebook) for notebook in notebooks)

    def kept_notebook(self, state: BuildState, chapter: str, content: str, output: str) -> str | None:
        """``kept_notebook`` for this book, once per output (a file read and digested)."""
        if output not in self._kept_notebooks:
            self._kept_notebooks[output] = kept_notebook(self.config.root, state, chapter, content, output)
        return self._kept_notebooks[output]

    @property
    def formatter(self) -> CodeFormatter:
        if self._formatter is None:
            self._formatter = code_formatter(self.config)
        return self._formatter

    def cells(self, tab: str, path: str) -> list[Cell]:
        """The chapter's cells for ``tab``, branches resolved."""
        key = (tab, path)
        if key not in self._tab_cells:
            document = self.book.documents[path]
            if document.skimmed:  # its notebook changed after the book was read: read it now
                document = self.book.documents[path] = read_document(self.config.root, path, self.config.tabs)
            self._tab_cells[key] = select_tab(document, tab)
        return self._tab_cells[key]

    @property
    def store(self) -> SavedBlockStore:
        if self._store is None:
            identity = digest(f"{source_digest()}\0{self.settings}\0{self.config.root.resolve()}")
            self._store = SavedBlockStore(self.config.root, identity)
        return self._store

    def saved(self, tab: str, path: str, warnings: list[Warning_]) -> list[SavedBlock]:
        """The chapter's saved blocks in ``tab`` (kept from the last run when the chapter is unchanged); their
        warnings are added to ``warnings``."""
        key = (tab, path)
        if key not in self._saved:
            document = self.book.documents[path]
            kept = self.store.get(path, document.content, tab) if document.content else None
            if kept is None and document.skimmed:  # no #@save in it
                kept = [], []
            elif kept is None:
                found: list[Warning_] = []
                blocks = saved_blocks(document, tab, self.cells(tab, path), self.formatter, found)
                if not in_tab(document, tab, self.config.default_tab, code_only=True):
                    blocks = []  # only a tab block names this tab: a notebook there, nothing for its library
                kept = blocks, found
                if document.content:
                    self.store.put(path, document.content, tab, *kept)
                    self.store.put_reading(path, document.content, document.warnings)
            self._saved[key] = kept
        blocks, found = self._saved[key]
        warnings.extend(found)
        return blocks

    def save_caches(self) -> None:
        """Keep what was formatted and found for the next run."""
        if self.keep:
            self.formatter.save()
            self.store.save(list(self.book.documents))

    def in_tab(self, tab: str, path: str) -> bool:
        """Whether the section exists in ``tab`` (kept from an earlier run for a chapter not read again)."""
        document = self.book.documents[path]
        if document.skimmed:
            return not self.store.absent(path, document.content, tab)
        present = in_tab(document, tab, self.config.default_tab)
        if not present and document.content:
            self.store.put_absent(path, document.content, tab)
            self.store.put_reading(path, document.content, document.warnings)
        return present

    def reading_warnings(self) -> list[Warning_]:
        """What reading the book gave: toc entries naming no file, then each chapter's warnings (those of a
        chapter not read again are kept from the run that read it)."""
        book = self.book
        found = list(book.toc_warnings)
        for path in sorted(book.documents):
            document = book.documents[path]
            found.extend(self.store.reading_warnings(path, document.content) if document.skimmed else document.warnings)
        return found


def libraries(inputs: BookInputs, tabs: tuple[str, ...]) -> dict[str, Library]:
    """Each tab's library, built from the saved blocks of the chapters in reading order."""
    config, result = inputs.config, {}
    for tab in tabs:
        library = config.library(tab)
        blocks, sections, warnings = [], 0, []
        for path in inputs.book.order:
            checkpoint()
            if not inputs.in_tab(tab, path):
                continue
            found = inputs.saved(tab, path, warnings)
            sections += bool(found)
            blocks.extend(found)
        existing = _read(config.root / library.lib_file)
        parse = functools.partial(kept_statements, inputs.formatter)
        result[tab] = build_library(blocks, library, existing, sections, tuple(warnings), parse)
    return result


def reading_warnings(inputs: BookInputs, built: dict[str, Library]) -> list[str]:
    """Input d2lbook accepts but ``check`` rejects: the chapters' and the #@save marks' warnings, each once."""
    found = [str(warning) for warning in inputs.reading_warnings()]
    for lib in built.values():
        found.extend(str(warning) for warning in lib.source_warnings)
    return list(dict.fromkeys(found))


def version_text(config: Config) -> str | None:
    """The version file with ``__version__`` set to ``[project] release``, or None when not configured."""
    if not (config.version_file and config.release):
        return None
    existing = _read(config.root / config.version_file) or ""
    line = f"__version__ = {json.dumps(config.release, ensure_ascii=False)}"  # "0.1.0" as d2lbook writes it; any text parses
    if re.search(r"^__version__\s*=.*$", existing, re.M):
        return re.sub(r"^__version__\s*=.*$", line, existing, count=1, flags=re.M)
    return existing + ("" if not existing or existing.endswith("\n") else "\n") + line + "\n"


def package_markers(config: Config, tabs: tuple[str, ...]) -> list[str]:
    """``__init__.py`` files missing beside library files: without one, an installed ``d2l`` would win."""
    markers = []
    for tab in tabs:
        folder = Path(config.library(tab).lib_file).parent
        marker = (folder / "__init__.py").as_posix()
        if folder != Path(".") and marker not in markers and not (config.root / marker).exists():
            markers.append(marker)
    return markers


def extract(root: Path, tabs: tuple[str, ...] | None = None, check: bool = False) -> ExtractReport:
    """Write every tab's library, the version file and the library indexes; ``check`` only compares."""
    config = load_config(root)
    tabs = check_tabs(config, tabs)
    if check:  # writes nothing: no lock
        inputs = BookInputs(config, keep=False, library_tabs=tabs)
        return _extract(inputs, tabs, check, inputs.start(_state_name("extract", tabs)))
    with book_lock(root):
        inputs = BookInputs(config, keep=True, library_tabs=tabs)
        return _extract(inputs, tabs, check, inputs.start(_state_name("extract", tabs)))


def _state_name(command: str, tabs: tuple[str, ...]) -> str:
    return f"{command}-" + "-".join(tabs)


def _extract(inputs: BookInputs, tabs: tuple[str, ...], check: bool, state: BuildState) -> ExtractReport:
    config, root = inputs.config, inputs.config.root
    if not check and state.fresh(inputs.settings, inputs.chapters) and _has_texts(state.data, "summaries", "warnings"):
        summaries = [line if line.endswith("(unchanged)") else f"{line} (unchanged)" for line in state.data["summaries"]]
        return ExtractReport(summaries=summaries, warnings=list(config.warnings) + state.data["warnings"], skipped=True)
    book = inputs.book
    check_library_outputs(config, tabs, book.order)  # chapters the toc reaches that no glob matches
    built = libraries(inputs, tabs)
    found = reading_warnings(inputs, built)  # what the chapters say: recorded, and repeated while they are unchanged
    report = ExtractReport()
    outputs = {config.library(tab).lib_file: lib.text for tab, lib in built.items()}
    for package in package_markers(config, tabs):
        outputs[package] = ""
    version = version_text(config)
    if version is not None:
        outputs[config.version_file] = version
    for tab, lib in built.items():
        found.extend(str(warning) for warning in lib.warnings)
        changed = _read(root / config.library(tab).lib_file) != lib.text
        note = " (stale)" if check and changed else "" if changed or check else " (unchanged)"
        counts = f"{lib.definition_count} definitions from {lib.index['sections']} sections"
        report.summaries.append(f"{config.library(tab).lib_file}: {counts}{note}")
    found = list(dict.fromkeys(found))  # a chapter's warning is found once per tab
    report.warnings = list(dict.fromkeys(list(config.warnings) + state.warnings + found))
    if check:
        report.diffs = [diff for path, text in outputs.items() if (diff := _diff(root, path, text))]
        return report
    for tab, lib in built.items():
        outputs[library_index_path(tab)] = LIBRARY_INDEX_STORE.dumps(lib.index)
    checkpoint()  # the last point a stop leaves every file as it was
    for path, text in outputs.items():
        write_if_changed(root / path, text)
    inputs.save_caches()
    inputs_read = list(book.order) + list(book.notebooks)
    state.save(inputs.settings, inputs.chapters, inputs_read, outputs, summaries=report.summaries, warnings=found)
    return report


def _has_texts(data: dict, *keys: str) -> bool:
    return all(isinstance(data.get(key), list) and all(isinstance(item, str) for item in data[key]) for key in keys)


def check_chapters(root: Path) -> CheckReport:
    """``d2lbuild check``: what d2lbook accepts but a careful book avoids, and the libraries' problems."""
    config = load_config(root)
    inputs = BookInputs(config, keep=False)
    built = libraries(inputs, config.tabs)
    report = check_book(config, inputs.book, built, reading_warnings(inputs, built))
    report.warnings[:0] = list(config.warnings)
    return report


def _diff(root: Path, path: str, text: str) -> str:
    old = _read(root / path)
    if old == text:
        return ""
    diff = difflib.unified_diff(_diff_lines(old or ""), _diff_lines(text), f"a/{path}", f"b/{path}")
    return "".join(diff)


def _diff_lines(text: str) -> list[str]:
    """Lines for a diff; a last line without a line end says so, as git does."""
    lines = text.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


# --- notebooks -----------------------------------------------------------------------------


@dataclass
class NotebookReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: bool = False


def section_notebooks(inputs: BookInputs, tab: str, warnings: list[Warning_], state: BuildState) -> tuple[dict[str, str], dict[str, str]]:
    """For every section that has a notebook in ``tab``: the JSON text of those made now, and the digests of
    those kept as the last run wrote them (their chapter, the tool and the config are unchanged)."""
    library = inputs.config.library(tab)
    made, kept = {}, {}
    same_settings = state.same_settings(inputs.settings)
    for path in inputs.book.notebooks:
        checkpoint()
        if not inputs.in_tab(tab, path):
            continue  # code, but none naming this tab: no notebook, as in d2lbook
        inputs.saved(tab, path, warnings)  # a bad #@save fails here as it does in extract
        target = notebook_path(tab, path)
        content = inputs.book.documents[path].content
        if same_settings and (recorded := inputs.kept_notebook(state, path, content, target)):
            kept[target] = recorded
            continue
        made[target] = dumps(notebook_for(path, inputs.cells(tab, path), library, inputs.formatter))
    return made, kept


def kept_notebook(root: Path, state: BuildState, chapter: str, content: str, output: str) -> str | None:
    """The recorded digest of ``output`` when the last run made it from these very chapter bytes (``content``)
    and it is intact."""
    recorded = state.recorded_output(output)
    if not content or recorded is None or state.recorded_input(chapter) != content:
        return None
    return recorded if file_digest(root / output) == recorded else None


def build_notebooks(root: Path, tabs: tuple[str, ...] | None = None) -> NotebookReport:
    """Write the notebooks of every section and tab; only changed ones are rewritten, stale ones removed.

    Every tab's notebooks are made before any is written, so bad input in one tab writes nothing.
    """
    config = load_config(root)
    tabs = check_tabs(config, tabs)
    with book_lock(root):
        inputs = BookInputs(config)
        state = inputs.start(_state_name("notebooks", tabs))
        inputs.read_only_what_changed(tabs, state)
        return _notebooks(inputs, tabs, state)


def build(root: Path, tabs: tuple[str, ...] | None = None) -> tuple[ExtractReport, NotebookReport]:
    """Extract and notebooks in one go, reading the book once (what ``make notebooks`` runs)."""
    config = load_config(root)
    tabs = check_tabs(config, tabs)
    with book_lock(root):
        inputs = BookInputs(config)
        extract_state, notebooks_state = inputs.start(_state_name("extract", tabs)), inputs.start(_state_name("notebooks", tabs))
        inputs.read_only_what_changed(tabs, notebooks_state)
        return _extract(inputs, tabs, False, extract_state), _notebooks(inputs, tabs, notebooks_state)


def _notebooks(inputs: BookInputs, tabs: tuple[str, ...], state: BuildState) -> NotebookReport:
    root = inputs.config.root
    if state.fresh(inputs.settings, inputs.chapters) and _has_texts(state.data, "warnings"):
        notebooks = sorted(path for path in state.data["outputs"] if path.endswith(NOTEBOOK_SUFFIX))
        return NotebookReport(unchanged=notebooks, warnings=state.data["warnings"], skipped=True)
    book = inputs.book
    save_warnings: list[Warning_] = []
    expected, kept = {}, {}
    for tab in tabs:  # every tab before any write
        expected[tab], kept[tab] = section_notebooks(inputs, tab, save_warnings, state)
    warnings = [str(warning) for warning in inputs.reading_warnings()] + [str(warning) for warning in save_warnings]
    warnings = list(dict.fromkeys(warnings))
    report = NotebookReport(warnings=list(dict.fromkeys(list(state.warnings) + warnings)))
    for tab in tabs:
        checkpoint()  # between tabs: each tab's notebooks are written whole (the state is saved only at the end)
        for path, text in expected[tab].items():
            (report.written if write_if_changed(root / path, text) else report.unchanged).append(path)
        report.unchanged.extend(kept[tab])
        report.removed.extend(_remove_stale(root, tab, set(expected[tab]) | set(kept[tab])))
    order = READING_ORDER_STORE.dumps({"order": list(book.order), "orphans": list(book.orphans)})
    write_if_changed(root / READING_ORDER, order)
    inputs.save_caches()
    outputs = {path: text for notebooks in expected.values() for path, text in notebooks.items()}
    outputs[READING_ORDER] = order
    unchanged = {path: recorded for notebooks in kept.values() for path, recorded in notebooks.items()}
    inputs_read = list(book.order) + list(book.notebooks)
    state.save(inputs.settings, inputs.chapters, inputs_read, outputs, kept=unchanged, warnings=warnings)
    return report


def _remove_stale(root: Path, tab: str, expected: set[str]) -> list[str]:
    folder = root / notebooks_dir(tab)
    removed = []
    for path in sorted(folder.rglob(f"*{NOTEBOOK_SUFFIX}")) if folder.is_dir() else []:
        relpath = path.relative_to(root).as_posix()
        if relpath not in expected and inside_build(root, path):
            path.unlink()
            removed.append(relpath)
    return removed


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
