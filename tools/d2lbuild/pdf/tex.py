"""Sphinx's LaTeX builder on the PDF's pages, xelatex through latexmk, and LaTeX's log read back to chapter lines."""

from __future__ import annotations

import bisect
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError
from ..html.sphinx_build import INSTALL_HINT, PARALLEL_FROM
from ..layout import SITE_DIR
from .settings import font_installed
from .sphinx_ext import MARK

# What TeX needs, and the Debian package that brings it.
TEX_TOOLS = (("xelatex", "texlive-xetex"), ("latexmk", "latexmk"), ("rsvg-convert", "librsvg2-bin"), ("kpsewhich", "texlive-base"),
             ("fc-list", "fontconfig"))
TEX_FILES = (("tabulary.sty", "texlive-latex-extra"), ("fncychap.sty", "texlive-latex-extra"), ("fontspec.sty", "texlive-xetex"),
             ("capt-of.sty", "texlive-latex-extra"), ("needspace.sty", "texlive-latex-extra"), ("framed.sty", "texlive-latex-recommended"))
CJK_FILES = (("xeCJK.sty", "texlive-lang-chinese"),)

FILE_LINE_ERROR = re.compile(r"^(?P<file>\S[^:]*\.(?:tex|sty|cls|aux|toc)):(?P<line>\d+): (?P<message>.*)$")
OVERFULL = re.compile(r"^Overfull \\hbox \((?P<points>[\d.]+)pt too wide\) .*?(?:lines (?P<start>\d+)--\d+|at line (?P<at>\d+))")
MISSING_CHARACTER = re.compile(r"^Missing character: There is no (?P<char>.+?) in font (?P<font>[^!]+)!")
# An overfull line less wide than this is not seen on paper.
VISIBLE_OVERFULL = 10.0


@dataclass
class LatexReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ran: bool = False  # whether latexmk had work to do


def missing_tex(cjk: bool) -> str | None:
    """The Debian package to install when a TeX program or file is not there, else None."""
    for program, package in TEX_TOOLS:
        if shutil.which(program) is None:
            return package
    for name, package in TEX_FILES + (CJK_FILES if cjk else ()):
        found = subprocess.run(["kpsewhich", name], capture_output=True, text=True, check=False)
        if not found.stdout.strip():
            return package
    for family, package in (("DejaVu Serif", "fonts-dejavu-core"),) + ((("Noto Serif CJK SC", "fonts-noto-cjk"),) if cjk else ()):
        if not font_installed(family):
            return package
    return None


def run_latex_builder(site: Path, out: Path, doctrees: Path, pages_written: int) -> list[str]:
    """Sphinx's LaTeX builder: build/pdf/TAB/site -> the .tex; Sphinx's warnings are returned."""
    try:
        from sphinx.application import Sphinx
        from sphinx.errors import SphinxError
    except ImportError:
        raise BuildError("d2lbuild pdf", INSTALL_HINT) from None
    status, warnings = io.StringIO(), io.StringIO()
    fresh = not (doctrees / "environment.pickle").is_file()
    parallel = (os.cpu_count() or 1) if fresh or pages_written >= PARALLEL_FROM else 1
    try:
        app = Sphinx(srcdir=str(site), confdir=str(site), outdir=str(out), doctreedir=str(doctrees), buildername="latex",
                     status=status, warning=warnings, freshenv=False, parallel=parallel, keep_going=True)
        app.build()
    except (SphinxError, ImportError) as err:
        raise BuildError(site.as_posix(), f"Sphinx failed: {_one_line(err)}") from None
    except Exception as err:  # an extension's bug must still end as one line
        raise BuildError(site.as_posix(), f"Sphinx failed: {type(err).__name__}: {_one_line(err)}") from None
    return [_relative(line, site) for line in warnings.getvalue().splitlines() if line.strip()]


def run_latexmk(out: Path, name: str) -> subprocess.CompletedProcess:
    """xelatex as many times as latexmk finds needed (none when nothing changed); the log stays in ``out``."""
    env = {**os.environ, "LATEXOPTS": "", "XINDYOPTS": "", "max_print_line": "100000", "error_line": "254", "half_error_line": "238"}
    command = ["latexmk", "-xelatex", "-interaction=nonstopmode", "-file-line-error", "-f", f"{name}.tex"]
    return subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, errors="replace", check=False)


@dataclass
class PageLines:
    """Where each line of the .tex came from: the marks the LaTeX writer left, and the pages' chapter lines."""

    tex_lines: list[int]
    places: list[tuple[str, int]]  # page, page line
    sources: dict[str, tuple[str, list[int]]]

    @classmethod
    def read(cls, tex: Path, sources: dict[str, tuple[str, list[int]]]) -> PageLines:
        tex_lines, places = [], []
        try:
            text = tex.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for number, line in enumerate(text.split("\n"), 1):
            if line.startswith(MARK):
                page, _, at = line[len(MARK) :].rpartition(":")
                if at.isdigit():
                    tex_lines.append(number)
                    places.append((page, int(at)))
        return cls(tex_lines, places, sources)

    def chapter_line(self, tex_line: int) -> str | None:
        """``chapters/x.md:LINE`` for a line of the .tex, None before the first page's text."""
        index = bisect.bisect_right(self.tex_lines, tex_line) - 1
        if index < 0:
            return None
        page, line = self.places[index]
        if page not in self.sources:
            return f"{SITE_DIR}/{page}:{line}"
        chapter, numbers = self.sources[page]
        return f"{chapter}:{numbers[min(line, len(numbers)) - 1] if numbers else 1}"


def latexmk_errors(done: subprocess.CompletedProcess, log_name: str) -> list[str]:
    """What latexmk's summary says failed (xdvipdfmx on a broken image, ...), when it failed."""
    if done.returncode == 0:
        return []
    output = (done.stdout or "") + "\n" + (done.stderr or "")
    summary = output.split("Collected error summary", 1)[-1].split("\n")[1:] if "Collected error summary" in output else []
    problems = [line.strip() for line in summary if line.strip() and "Latexmk" not in line]
    return [f"{log_name}: LaTeX: {problem}" for problem in problems[:5]] or [f"{log_name}: LaTeX: latexmk failed (exit {done.returncode})"]


def read_log(log: Path, tex_name: str, lines: PageLines, log_name: str) -> LatexReport:
    """LaTeX's errors, visible overfull lines and missing characters, at chapter lines where the .tex says."""
    report = LatexReport()
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        report.errors.append(f"{log_name}: LaTeX wrote no log")
        return report
    missing: set[str] = set()
    for line in text.split("\n"):
        error = FILE_LINE_ERROR.match(line)
        if error:
            where = _where(error.group("file"), int(error.group("line")), tex_name, lines, log_name)
            _add(report.errors, f"{where}: LaTeX: {error.group('message').strip()}")
            continue
        if line.startswith("! "):
            _add(report.errors, f"{log_name}: LaTeX: {line[2:].strip()}")
            continue
        overfull = OVERFULL.match(line)
        if overfull and float(overfull.group("points")) >= VISIBLE_OVERFULL:
            at = int(overfull.group("start") or overfull.group("at"))
            where = lines.chapter_line(at) or f"{log_name}"
            _add(report.warnings, f"{where}: warning: LaTeX: a line runs {overfull.group('points')}pt into the margin")
            continue
        character = MISSING_CHARACTER.match(line)
        if character and character.group("char") not in missing:
            missing.add(character.group("char"))
            glyph, font = character.group("char"), character.group("font").strip()
            _add(report.warnings, f"{log_name}: warning: LaTeX: no glyph for {glyph} in font {font}")
    return report


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _relative(line: str, site: Path) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", line).replace(str(site) + os.sep, f"{SITE_DIR}/")


def _where(file: str, line: int, tex_name: str, lines: PageLines, log_name: str) -> str:
    if Path(file).name == f"{tex_name}.tex":
        return lines.chapter_line(line) or f"{log_name}"
    return f"{file}:{line}"


def _add(messages: list[str], message: str) -> None:
    if message not in messages:
        messages.append(message)
