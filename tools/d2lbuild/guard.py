"""Where d2lbuild may write besides build/: the library files the config names, checked by where they lead.

A library or version file must be a Python file inside the book (its folders' symbolic links resolved), and
never config.ini, a chapter, something under build/ or .git/: d2lbuild replaces or appends to these files, so a
config naming another file would destroy it.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import CONFIG_NAME, Config
from .errors import BuildError
from .layout import BUILD_DIR, ENV_DIR, OWN_TOOLCHAIN


def library_outputs(config: Config, tabs: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(section, key, path) of every library file the config names for ``tabs``, and the version file."""
    named = [(f"library-{tab}", "lib_file", config.library(tab).lib_file) for tab in tabs]
    if config.version_file:
        named.append(("library", "version_file", config.version_file))
    return named


LIBRARY_MARK = "#################   WARNING   ################"


def check_library_outputs(config: Config, tabs: tuple[str, ...], chapters: list[str] | tuple[str, ...]) -> None:
    """Raise BuildError at the config line of the first library or version file that would destroy another file."""
    root = config.root.resolve()
    for section, key, path in library_outputs(config, tabs):
        mark = LIBRARY_MARK if key == "lib_file" else "__version__"
        others: dict[Path, str] = {}
        for chapter in sorted(chapters, key=lambda chapter: (chapter == path, chapter)):  # another name first
            if not _generated(config.root, chapter, path, mark):
                others.setdefault(_resolved(config.root / chapter), chapter)
        problem = output_problem(root, config.root / path, others)
        if problem:
            raise BuildError(config.where(section, key), f"[{section}] {key}: {path} {problem}")


def output_problem(root: Path, path: Path, chapters: dict[Path, str]) -> str | None:
    """Why d2lbuild must not write ``path`` (None when it may): judged by where the path leads."""
    if path.suffix != ".py":
        return "is not a Python file (.py); d2lbuild would overwrite it"
    target = _resolved(path)
    try:
        parts = target.relative_to(root).parts
    except ValueError:
        return f"leads outside the book's root (to {target}, through a symbolic link); name a file inside the book"
    if target in chapters:
        return f"is the chapter {chapters[target]}; d2lbuild would overwrite it"
    if parts == (CONFIG_NAME,):
        return f"is {CONFIG_NAME}; d2lbuild would overwrite it"
    if parts[:1] in ((BUILD_DIR,), (".git",)):
        return f"is inside {parts[0]}/, which is not the book's to name; name a file of the book"
    return None


def _generated(root: Path, chapter: str, output: str, mark: str) -> bool:
    """Whether a chapter glob merely matched the output itself, as written by an earlier extract (it holds ``mark``)."""
    if Path(chapter).as_posix() != Path(output).as_posix():
        return False
    try:
        return mark in (root / chapter).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


# build/venv (the toolchain, made by make) and the environments: pip's business
NOT_OURS = frozenset({*OWN_TOOLCHAIN, ENV_DIR.rsplit("/", 1)[1]})


def check_build_links(root: Path) -> None:
    """No folder under build/ may be a symbolic link leading outside it: d2lbuild writes and deletes there."""
    build = root / BUILD_DIR
    if not build.is_dir():
        return
    inside = _resolved(build)
    folders = [entry for entry in _folders(build) if entry.name not in NOT_OURS]
    while folders:
        entry = folders.pop()
        if entry.is_symlink():
            target = _resolved(Path(entry.path))
            if target != inside and inside not in target.parents:
                shown = Path(entry.path).relative_to(root).as_posix()
                why = f"is a symbolic link leading outside build/ (to {target}); d2lbuild writes and deletes there: remove it"
                raise BuildError(shown, why)
        else:
            folders.extend(_folders(Path(entry.path)))


def _folders(folder: Path) -> list:
    """The folders (and links to folders) directly in ``folder``, from one directory listing."""
    try:
        with os.scandir(folder) as entries:
            return [entry for entry in entries if entry.is_dir()]  # follows links: a link to a folder counts
    except OSError:
        return []


def inside_build(root: Path, path: Path) -> bool:
    """Whether ``path`` leads (links resolved) into build/: the only place d2lbuild deletes outputs."""
    build = _resolved(root / BUILD_DIR)
    return build in _resolved(path).parents


def _resolved(path: Path) -> Path:
    """``path`` with every symbolic link resolved, also when it does not exist yet."""
    return Path(os.path.realpath(path))
