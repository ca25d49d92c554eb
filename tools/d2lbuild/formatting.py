"""Lay out code as d2lbook does: imports sorted by isort (no blank lines between sections), trailing spaces gone.

isort is imported only when some code has an import. Each result, the statements found by parsing a
saved block, and other texts computed from code (cells with their aliases rewritten) are kept by
content, in memory and in an optional store that the build keeps under ``build/``, so a rebuild
formats and parses nothing twice. The store names the d2lbuild that wrote it: another one's is not used.
Two builds saving at once keep the results of both (each adds to what the store holds then).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import cached_property, lru_cache
from pathlib import Path

from .fsutil import file_digest, source_digest
from .hashing import digest
from .stores import StoreType, has_fields

TABLES = ("formatted", "parsed", "texts")
FORMATTING_STORE = StoreType("formatting", 1, lambda data: has_fields(data, {"tool": str, **dict.fromkeys(TABLES, dict)}), compact=True)


class CodeFormatter:
    """Formats code for one book root (first-party modules are those found in the root, as isort sees them)."""

    def __init__(self, root: Path | None = None, store: Path | None = None, own: frozenset[str] = frozenset()):
        self.root = root
        self.own = own  # names at the root that d2lbuild itself writes (see isort_view)
        self.store = store
        self.added = False
        self.memo: dict[str, str] = {}  # this run's results by source text
        data = _read_store(store)
        self.known: dict[str, str] = {k: v for k, v in data.get("formatted", {}).items() if isinstance(v, str)}
        self.parsed: dict[str, list] = {k: v for k, v in data.get("parsed", {}).items() if isinstance(v, list)}
        self.texts: dict[str, str] = {k: v for k, v in data.get("texts", {}).items() if isinstance(v, str)}

    @cached_property
    def isort_view(self) -> str:
        """What isort sees of the book's root, looked at once per formatter (one run)."""
        return isort_view(self.root, self.own) if self.root else ""

    def kept_text(self, material: str, compute: Callable[[], str]) -> str:
        """``compute()``, kept by a digest of ``material`` (what the result depends on besides d2lbuild itself)."""
        key = digest(material, length=32)
        found = self.texts.get(key)
        if found is None:
            found = self.texts[key] = compute()
            self.added = True
        return found

    def parsed_once(self, code: str, parse: Callable[[str], tuple]) -> tuple:
        """``parse(code)``, kept by content: the statement summaries of a saved block (plain tuples)."""
        key = digest(code, length=32)
        found = self.parsed.get(key)
        if found is None:
            result = parse(code)
            self.parsed[key] = [list(item) for item in result]
            self.added = True
            return result
        return tuple(found)

    def __call__(self, source: str) -> str:
        laid_out = self.memo.get(source)
        if laid_out is None:
            laid_out = self.memo[source] = _without_trailing_spaces(self._sorted(source)).strip()
        return laid_out

    def _sorted(self, source: str) -> str:
        if "import " not in source:
            return source
        directory = str(self.root) if self.root else ""
        key = digest(isort_version(), directory, self.isort_view, source, length=32)
        if key not in self.known:
            self.known[key] = sort_imports(source, directory, self.isort_view)
            self.added = True
        return self.known[key]

    def save(self) -> None:
        """Keep what was formatted for the next run (only when something new was formatted)."""
        if self.store is not None and self.added:
            mine = {"formatted": self.known, "parsed": self.parsed, "texts": self.texts}

            def merged(data: dict | None) -> dict:
                earlier = _usable(data)
                return {"tool": store_identity(), **{name: {**earlier.get(name, {}), **mine[name]} for name in TABLES}}

            FORMATTING_STORE.update(self.store, merged)
            self.added = False


TRAILING_SPACES = re.compile(r"[^\S\n]+$", re.MULTILINE)


def _without_trailing_spaces(text: str) -> str:
    """Each line right-stripped, as ``str.rstrip`` would (any white space but the line break)."""
    return TRAILING_SPACES.sub("", text)


@lru_cache(maxsize=1)
def store_identity() -> str:
    """Whose results the store holds: this d2lbuild's source (its isort options and parsers) and Python's version."""
    return f"{source_digest()}:{sys.version_info[0]}.{sys.version_info[1]}"


def _read_store(store: Path | None) -> dict:
    """The store's tables; a missing or foreign file gives none (it is only a cache)."""
    return _usable(FORMATTING_STORE.read(store)) if store is not None else {}


def _usable(data: dict | None) -> dict:
    """The tables of stored data written by this d2lbuild (and Python); none of another's."""
    return {name: data[name] for name in TABLES} if data and data["tool"] == store_identity() else {}


def sort_imports(source: str, directory: str, view: str = "") -> str:
    """``source`` with its imports sorted by isort, all sections in one run without blank lines (``view``: isort's
    view of ``directory``; isort keeps where it placed a module per settings object, so a new view needs a new one)."""
    import isort  # only code with imports pays for this import

    config = _isort_config(directory, view)
    try:
        return isort.code(source, config=config)
    except Exception:  # isort refuses some code (e.g. broken syntax): keep it as written
        return source


@lru_cache(maxsize=8)
def _isort_config(directory: str, view: str = ""):
    """isort's settings for a directory; made again for each view, forgetting where isort placed modules before
    (it keeps that per equal settings and per path, for the life of the process)."""
    import isort
    import isort.place
    import isort.utils

    for cached in (isort.place.module_with_reason, isort.utils.exists_case_sensitive, isort.place.exists_case_sensitive):
        getattr(cached, "cache_clear", lambda: None)()

    sections = ("FUTURE", "STDLIB", "THIRDPARTY", "FIRSTPARTY", "LOCALFOLDER")
    options = {"no_lines_before": sections}
    if directory:
        options["directory"] = directory
    return isort.Config(**options)


# The files isort reads its settings from, looked for in the book's root and each folder above it.
ISORT_SETTINGS_FILES = (".isort.cfg", "pyproject.toml", "setup.cfg", "tox.ini", ".editorconfig")


def isort_view(root: Path, own: frozenset[str] = frozenset()) -> str:
    """What isort sees of a book: the names at its root it takes for first-party modules (every folder and module
    file named like a module) and the settings files it may read (in the root or above, up to the repository's top).

    Sorting the library's imports depends on both, so they are part of the key of formatted code and of the build's
    state (found without importing isort). ``own`` names, and ``build``, are left out: d2lbuild makes them itself
    (the library's package, build/), so a book's first run would differ from the next one by them alone.
    """
    try:
        entries = sorted(root.iterdir())
    except OSError:
        entries = []
    names = sorted({_module_name(entry) for entry in entries} - {None, "build", *own})
    settings = []
    for folder in (root.resolve(), *root.resolve().parents):
        for name in ISORT_SETTINGS_FILES:
            path = folder / name
            if path.is_file():
                settings.append(f"{path}\0{file_digest(path)}")
        if (folder / ".git").exists() or (folder / ".hg").exists():
            break
    return digest("\n".join([*names, "", *settings]), length=32)


def _module_name(entry: Path) -> str | None:
    """The module an entry of the root would be imported as, if any (isort takes any folder for a package)."""
    name = entry.name if entry.is_dir() else entry.name.split(".", 1)[0] if entry.suffix in (".py", ".pyi", ".so", ".pyd") else ""
    return name if name.isidentifier() else None


@lru_cache(maxsize=1)
def isort_version() -> str:
    """What identifies the installed isort in the formatting store: a digest of its version file.

    Found without importing isort (an import costs more than most builds spend formatting).
    """
    from importlib.util import find_spec

    spec = find_spec("isort")
    if spec is None or not spec.submodule_search_locations:
        return "none"
    folder = Path(next(iter(spec.submodule_search_locations)))
    return file_digest(folder / "_version.py") or "unknown"
