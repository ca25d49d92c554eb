"""Files the site serves as they are, put in build/html beside Sphinx's pages: downloads, MathJax.

Sphinx's own copying (``html_extra_path``) compares every file byte for byte on every build. Here each
file comes with the digest of what it was made from (its page's inputs, or its content), and a record beside
build/html (in build/html-state, so that build/html holds only what a web server serves) says which
digest each copy has: a file is copied when its digest changed or its copy is missing, and copies of
files no longer in the site are removed.
"""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from ..errors import BuildError
from ..fsutil import write_atomic
from ..stores import StoreType, is_str_map

MATHJAX_DISTRIBUTION = "django-static-mathjax"  # MathJax 3's files, as a wheel without dependencies
MATHJAX_FOLDER = "mathjax/static/mathjax/es5"
# The loader and the parts the site's configuration loads (TeX and its extensions, CHTML and its fonts, MathML for
# screen readers), and what tex-mml-chtml.js loads for a book that points mathjax_path at it: the other
# combined builds are left out.
MATHJAX_PARTS = ("startup.js", "core.js", "output/chtml.js", "tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "sre", "adaptors")
MATHJAX_TARGET = "_static/mathjax"
MATHJAX_STAMP = ".d2lbuild-mathjax.json"
EXTRA_RECORD = ".d2lbuild-extra.json"
COPIED_STORE = StoreType("copied-files", 1, lambda data: is_str_map(data, str))  # relative path -> digest of what was copied
MATHJAX_STORE = StoreType("mathjax-copy", 1, lambda data: isinstance(data, dict))  # where MathJax came from, its files


def state_dir(out: Path) -> Path:
    """Where the records of what was copied into ``out`` are kept: beside it, so that ``out`` is only what is served."""
    return out.parent / f"{out.name}-state"


def sync_extra(extra: Path, out: Path, stamps: dict[str, str]) -> list[str]:
    """Copy the files of ``extra`` (paths relative to it -> digests) into ``out``; return the paths copied."""
    record_path = state_dir(out) / EXTRA_RECORD
    record = COPIED_STORE.read(record_path) or {}
    copied = []
    for relpath, stamp in sorted(stamps.items()):
        target = out / relpath
        if record.get(relpath) != stamp or not target.is_file():
            write_atomic(target, (extra / relpath).read_bytes())
            copied.append(relpath)
    for relpath in sorted(set(record) - set(stamps)):
        if ".." not in relpath.split("/"):
            (out / relpath).unlink(missing_ok=True)
    COPIED_STORE.write_if_changed(record_path, stamps)
    return copied


def mathjax_source() -> Path:
    """The folder of MathJax's files in the installed html extra."""
    try:
        folder = Path(metadata.distribution(MATHJAX_DISTRIBUTION).locate_file(MATHJAX_FOLDER))
    except metadata.PackageNotFoundError:
        folder = None
    if folder is None or not (folder / "tex-mml-chtml.js").is_file():
        raise BuildError("d2lbuild html", f"MathJax not found: pip install 'd2lbuild[html]' (it brings {MATHJAX_DISTRIBUTION})")
    return folder


def install_mathjax(out: Path, source: Path | None = None) -> bool:
    """Copy MathJax into the site's _static once per MathJax version; return whether it copied."""
    source = source or mathjax_source()
    files = sorted(
        path.relative_to(source).as_posix()
        for part in MATHJAX_PARTS
        for path in ([source / part] if (source / part).is_file() else sorted((source / part).rglob("*")))
        if path.is_file()
    )
    stamp = {"source": str(source), "files": {name: (source / name).stat().st_size for name in files}}
    target, stamp_path = out / MATHJAX_TARGET, state_dir(out) / MATHJAX_STAMP
    if MATHJAX_STORE.read(stamp_path) == stamp and all((target / name).is_file() for name in files):
        return False
    if target.exists():
        shutil.rmtree(target)
    for name in files:
        write_atomic(target / name, (source / name).read_bytes())
    MATHJAX_STORE.write(stamp_path, stamp)
    return True


# What the theme copies into _static that no page loads: source maps, the icon script the site's layout leaves out
# (its icons come from the theme's icon font), the theme's template macros; and Sphinx's empty sources folder
# and the state earlier versions kept in the published folder.
UNSERVED = ("_static/**/*.map", "_static/scripts/fontawesome.js", "_static/webpack-macros.html", ".d2lbuild-extra.json",
            "_static/mathjax/.d2lbuild-mathjax.json")
UNSERVED_FOLDERS = (".doctrees", "_sources")


def prune_unserved(out: Path) -> list[str]:
    """Remove from the published folder what no page uses; return the paths removed."""
    removed = []
    for pattern in UNSERVED:
        for path in sorted(out.glob(pattern)):
            if path.is_file():
                path.unlink()
                removed.append(path.relative_to(out).as_posix())
    for name in UNSERVED_FOLDERS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
            removed.append(name)
    return removed


BUILDINFO = ".buildinfo"  # Sphinx's record of the configuration its pages were written with, read from the output folder


def restore_buildinfo(out: Path) -> None:
    """Put Sphinx's record back into the output folder for the build, so that unchanged pages are not written again."""
    kept = state_dir(out) / BUILDINFO
    if kept.is_file() and out.is_dir():
        write_atomic(out / BUILDINFO, kept.read_bytes())


def stash_buildinfo(out: Path) -> None:
    """Move Sphinx's record out of the published folder after the build."""
    if (out / BUILDINFO).is_file():
        write_atomic(state_dir(out) / BUILDINFO, (out / BUILDINFO).read_bytes())
        (out / BUILDINFO).unlink()
