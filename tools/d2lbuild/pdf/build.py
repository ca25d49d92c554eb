"""``d2lbuild pdf``: for each tab, the website's pages of that tab, Sphinx's LaTeX builder, then xelatex.

build/pdf/TAB/site holds the pages (MyST), build/pdf/TAB/latex the .tex, LaTeX's log and its PDF;
the book is copied to build/pdf/NAME-TAB.pdf, the default tab's also to build/pdf/NAME.pdf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..booklock import book_lock
from ..config import Config, load_config
from ..errors import BuildError
from ..fsutil import write_atomic, write_if_changed
from ..hashing import FULL_LENGTH, digest_of
from ..html.site import sections
from ..html.sphinx_build import chapter_warnings
from ..layout import PAGE_SUFFIX, SITE_DIR, pdf_doctrees_dir, pdf_latex_dir, pdf_site_dir, published_pdf
from ..pipeline import build
from ..stopping import checkpoint
from .latex_conf import TITLE_FILE, tex_name, title_page
from .pages import PdfSiteWriter, tab_dir
from .settings import PdfSettings, pdf_settings
from .tex import LatexReport, PageLines, latexmk_errors, missing_tex, read_log, run_latex_builder, run_latexmk

STAMP = ".d2lbuild-sphinx"  # beside the .tex: a digest of everything Sphinx read to write it


@dataclass
class TabPdf:
    tab: str
    pdf: str | None  # the book's path, None when LaTeX wrote none
    pages: int
    written: int
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class PdfReport:
    warnings: list[str] = field(default_factory=list)
    books: list[TabPdf] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [error for book in self.books for error in book.errors]


def build_pdf(root: Path, tabs: tuple[str, ...] | None = None) -> PdfReport:
    """Build each tab's PDF (every tab by default); errors are reported, not raised, so every tab is tried."""
    with book_lock(root):
        return _build_pdf(root, tabs)


def _build_pdf(root: Path, tabs: tuple[str, ...] | None = None) -> PdfReport:
    config = load_config(root)
    settings = pdf_settings(config)
    missing = missing_tex(settings.cjk)
    if missing:
        raise BuildError("d2lbuild pdf", f"TeX is not complete: install Debian's {missing} (apt-get install {missing})")
    build(root)  # the libraries (the API pages read them) and the notebooks, brought up to date
    report = PdfReport(warnings=list(config.warnings) + list(settings.warnings))
    book_tabs = config.tabs
    for tab in tabs or ():
        if tab not in book_tabs:
            raise BuildError("config.ini", f"no tab {tab} in [build] tabs ({', '.join(book_tabs)})")
    for tab in tabs or book_tabs:
        checkpoint()
        report.books.append(build_tab(root, tab, settings, config))
    return report


def build_tab(root: Path, tab: str, settings: PdfSettings, config: Config | None = None) -> TabPdf:
    writer = PdfSiteWriter(root, tab, settings, config)
    site = writer.write()
    folder, site_dir = root / tab_dir(tab), root / pdf_site_dir(tab)
    out = root / pdf_latex_dir(tab)
    pages = sum(1 for relpath in site.written if relpath.endswith(PAGE_SUFFIX))
    name = tex_name(settings, tab)
    stamp = _sphinx_stamp(site_dir)
    if not (out / f"{name}.tex").is_file() or _read(out / STAMP) != stamp:
        sphinx = run_latex_builder(site_dir, out, root / pdf_doctrees_dir(tab), pages)
        write_if_changed(folder / "sphinx-warnings.txt", "\n".join(sphinx))
        write_if_changed(out / STAMP, stamp)
    else:  # nothing Sphinx reads changed: its .tex and warnings are those of the last build
        sphinx = [line for line in _read(folder / "sphinx-warnings.txt").split("\n") if line]
    warnings = site.warnings + chapter_warnings(sphinx, site.sources, f"{SITE_DIR}/")
    warnings = [warning.replace(f"{SITE_DIR}/", f"{pdf_site_dir(tab)}/") for warning in warnings]
    order, _ = sections(writer.config)
    logo = _logo(root, settings, out)
    write_if_changed(out / TITLE_FILE, title_page(settings, tab, writer.not_run(order), logo))
    done = run_latexmk(out, name)
    log_name = f"{pdf_latex_dir(tab)}/{name}.log"
    latex = read_log(out / f"{name}.log", name, PageLines.read(out / f"{name}.tex", site.sources), log_name)
    failed = latexmk_errors(done, log_name) if not latex.errors else []
    latex.errors += failed
    pdf = None if failed else _publish(root, out / f"{name}.pdf", settings, tab, writer.config.tabs[0], latex)
    return TabPdf(tab, pdf, len(site.pages), len(site.written), warnings + latex.warnings, latex.errors)


def _sphinx_stamp(site: Path) -> str:
    """What Sphinx's .tex is made of: every file of the site (pages, conf.py, images), d2lbuild's code, Sphinx's version."""
    import sphinx

    code = [path for folder in (Path(__file__).parent, Path(__file__).parent.with_name("html")) for path in sorted(folder.glob("*.py"))]
    pages = [path for path in sorted(site.rglob("*")) if path.is_file() and path.name != ".pages.json"]
    parts = [sphinx.__version__]
    parts += (part for path in code for part in (path.name, path.read_bytes()))
    parts += (part for path in pages for part in (path.relative_to(site).as_posix(), path.read_bytes()))
    return digest_of(parts, length=FULL_LENGTH)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _logo(root: Path, settings: PdfSettings, out: Path) -> str | None:
    if not settings.logo:
        return None
    source = root / settings.logo
    name = "d2l-logo" + source.suffix.lower()
    payload = source.read_bytes()
    if not (out / name).is_file() or (out / name).read_bytes() != payload:
        write_atomic(out / name, payload)
    return name


def _publish(root: Path, built: Path, settings: PdfSettings, tab: str, default_tab: str, latex: LatexReport) -> str | None:
    """Copy LaTeX's PDF to build/pdf/NAME-TAB.pdf (and NAME.pdf for the default tab)."""
    if not built.is_file():
        latex.errors.append(f"{pdf_latex_dir(tab)}/{built.name}: LaTeX wrote no PDF")
        return None
    payload = built.read_bytes()
    targets = [published_pdf(settings.name, tab)] + ([published_pdf(settings.name)] if tab == default_tab else [])
    for target in targets:
        path = root / target
        if not path.is_file() or path.read_bytes() != payload:
            write_atomic(path, payload)
    return targets[0]
