"""Run Sphinx on build/site, in this process, incrementally (its state lives beside the site, in build/html-doctrees)."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError
from ..layout import SITE_DIR

INSTALL_HINT = "the html extra is not installed: pip install 'd2lbuild[html]' (make html installs it)"


# A Sphinx warning: "path:line: WARNING: message", the path and the line optional; other lines continue it.
SPHINX_WARNING = re.compile(r"^(?:(?P<path>\S[^:]*?)(?::(?P<line>\d+))?: )?(?P<level>WARNING|ERROR|SEVERE|CRITICAL): (?P<message>.*)$")


@dataclass
class SphinxReport:
    warnings: list[str] = field(default_factory=list)


# Below this many pages to read, Sphinx's worker processes cost more than they save.
PARALLEL_FROM = 12


def run_sphinx(site: Path, out: Path, jobs: int | None = None, pages_written: int | None = None) -> SphinxReport:
    """Build the HTML site from the MyST pages; Sphinx's warnings are returned, one line each.

    Without ``jobs``, Sphinx runs on every core when many pages changed (``pages_written``), else in this process.
    """
    try:
        from sphinx.application import Sphinx
        from sphinx.errors import SphinxError
    except ImportError:
        raise BuildError("d2lbuild html", INSTALL_HINT) from None
    status, warnings = io.StringIO(), io.StringIO()
    try:
        app = Sphinx(
            srcdir=str(site),
            confdir=str(site),
            outdir=str(out),
            doctreedir=str(doctree_dir(out)),
            buildername="html",
            status=status,
            warning=warnings,
            freshenv=False,
            parallel=jobs or _processes(out, pages_written),
            keep_going=True,
        )
        app.build()
    except (SphinxError, ImportError) as err:
        raise BuildError(site.as_posix(), f"Sphinx failed: {_one_line(err)}") from None
    except Exception as err:  # a theme's or extension's bug must still end as one line, not a traceback
        raise BuildError(site.as_posix(), f"Sphinx failed: {type(err).__name__}: {_one_line(err)}") from None
    lines = [_relative(line, site) for line in warnings.getvalue().splitlines() if line.strip()]
    return SphinxReport(warnings=lines)


def doctree_dir(out: Path) -> Path:
    """Sphinx's saved state: beside the published folder, never in it (a web server would serve it)."""
    return out.parent / f"{out.name}-doctrees"


def _processes(out: Path, pages_written: int | None) -> int:
    """Sphinx's processes: every core for a first build or many changed pages, else one."""
    cores = os.cpu_count() or 1
    if pages_written is None or pages_written >= PARALLEL_FROM or not (doctree_dir(out) / "environment.pickle").is_file():
        return cores
    return 1


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _relative(line: str, site: Path) -> str:
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    prefix = str(site) + os.sep
    return line.replace(prefix, f"{SITE_DIR}/")


def chapter_warnings(lines: list[str], sources: dict[str, tuple[str, list[int]]], site_prefix: str = f"{SITE_DIR}/") -> list[str]:
    """Sphinx's warnings, one line each, at the chapter's ``path:line`` when they name a line of a page.

    ``sources`` maps each page file (relative to the site) to its chapter and the chapter line of each page line.
    """
    warnings: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        match = SPHINX_WARNING.match(line)
        if match is None:
            if warnings:  # a message over several lines (a directive's text, an exception) becomes one line
                warnings[-1] += " " + line.strip()
            else:
                warnings.append(line.strip())
            continue
        level = "warning" if match.group("level") == "WARNING" else "error"
        path, number = match.group("path"), match.group("line")
        page = path[len(site_prefix) :] if path and path.startswith(site_prefix) else None
        if page in sources:
            chapter, numbers = sources[page]
            at = numbers[min(int(number), len(numbers)) - 1] if number and numbers else 1
            warnings.append(f"{chapter}:{at}: {level}: {match.group('message')}")
        elif path:
            warnings.append(f"{path}{':' + number if number else ''}: {level}: {match.group('message')}")
        else:
            warnings.append(f"{level}: {match.group('message')}")
    return warnings
