"""``d2lbuild html``: libraries and notebooks brought up to date, the site's MyST sources written, then Sphinx."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..booklock import book_lock
from ..config import load_config
from ..layout import HTML_DIR, PAGE_SUFFIX, SITE_DIR
from ..pipeline import build
from .publish import install_mathjax, prune_unserved, restore_buildinfo, stash_buildinfo, sync_extra
from .site import EXTRA_DIR, SiteReport, html_settings, write_site
from .sphinx_build import SphinxReport, chapter_warnings, run_sphinx


@dataclass
class HtmlReport:
    site: SiteReport
    sphinx: SphinxReport | None


def build_html(root: Path, jobs: int | None = None, sphinx: bool = True) -> HtmlReport:
    """Build build/html (or, without sphinx, only the sources in build/site), holding the book's lock."""
    with book_lock(root):
        return _build_html(root, jobs, sphinx)


def _build_html(root: Path, jobs: int | None, sphinx: bool) -> HtmlReport:
    config = load_config(root)
    build(root)  # the libraries (the API pages read them) and the notebooks, brought up to date
    site = write_site(root, config)
    site.warnings[:0] = list(config.warnings)  # said once, here: the build above reports nothing
    if not sphinx:
        return HtmlReport(site, None)
    out = root / HTML_DIR
    if not html_settings(config).mathjax_path:
        install_mathjax(out)
    prefix = EXTRA_DIR + "/"
    sync_extra(root / SITE_DIR / EXTRA_DIR, out, {relpath[len(prefix) :]: stamp for relpath, stamp in site.extra.items()})
    pages = sum(1 for relpath in site.written if relpath.endswith(PAGE_SUFFIX))
    restore_buildinfo(out)
    try:
        result = run_sphinx(root / SITE_DIR, out, jobs, pages_written=pages)
    finally:
        stash_buildinfo(out)
    prune_unserved(out)
    result.warnings = chapter_warnings(result.warnings, site.sources, SITE_DIR + "/")
    return HtmlReport(site, result)

