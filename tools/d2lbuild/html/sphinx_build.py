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


def run_sphinx(site: Path, out: Path, jobs: int | None = None) -> SphinxReport:
    """Build the HTML site from the MyST pages; Sphinx's warnings are returned, one line each."""
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
            parallel=jobs or os.cpu_count() or 1,
            keep_going=True,
        )
        app.build()
    except (SphinxError, ImportError) as err:
        raise BuildError(site.as_posix(), f"Sphinx failed: {_one_line(err)}") from None
    except Exception as err:  # a theme's or extension's bug must still end as one line, not a traceback
        raise BuildError(site.as_posix(), f"Sphinx failed: {type(err).__name__}: {_one_line(err)}") from None
    lines = [_relative(line, site) for line in warnings.getvalue().splitlines() if line.strip()]
    return SphinxReport(warnings=lines)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _relative(line: str, site: Path) -> str:
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    prefix = str(site) + os.sep
    return line.replace(prefix, "build/site/")
