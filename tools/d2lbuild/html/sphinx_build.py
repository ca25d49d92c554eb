"""Run Sphinx on build/site, in this process, incrementally (its state lives in build/html/.doctrees)."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError

INSTALL_HINT = "the html extra is not installed: pip install 'd2lbuild[html]' (make html installs it)"


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
            doctreedir=str(out / ".doctrees"),
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


def _processes(out: Path, pages_written: int | None) -> int:
    """Sphinx's processes: every core for a first build or many changed pages, else one."""
    cores = os.cpu_count() or 1
    if pages_written is None or pages_written >= PARALLEL_FROM or not (out / ".doctrees" / "environment.pickle").is_file():
        return cores
    return 1


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _relative(line: str, site: Path) -> str:
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    prefix = str(site) + os.sep
    return line.replace(prefix, "build/site/")
