"""``d2lbuild html``: notebooks brought up to date, the site's MyST sources written, then Sphinx."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..pipeline import BUILD_DIR, build_notebooks
from .site import SITE_DIR, SiteReport, write_site
from .sphinx_build import SphinxReport, run_sphinx

HTML_DIR = f"{BUILD_DIR}/html"


@dataclass
class HtmlReport:
    site: SiteReport
    sphinx: SphinxReport | None


def build_html(root: Path, jobs: int | None = None, sphinx: bool = True) -> HtmlReport:
    """Build build/html (or, without sphinx, only the sources in build/site)."""
    build_notebooks(root)
    site = write_site(root)
    result = run_sphinx(root / SITE_DIR, root / HTML_DIR, jobs) if sphinx else None
    return HtmlReport(site, result)
