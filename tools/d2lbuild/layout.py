"""Where every output of d2lbuild lives, relative to the book's root: the one module that decides it.

Everything d2lbuild writes is under ``build/`` (besides the library files config.ini names). Paths are
POSIX text relative to the root (as messages and records show them); join them to the root to use them.
"""

from __future__ import annotations

from .formats import NOTEBOOK_SUFFIX, notebook_name

BUILD_DIR = "build"
LOCK = f"{BUILD_DIR}/.lock"  # one per book: commands that write build/ take it
STATE_DIR = f"{BUILD_DIR}/.d2lbuild"  # incremental records of extract and notebooks, and their stores
FORMATTING_STORE = f"{STATE_DIR}/formatted.json"
SAVED_BLOCKS_STORE = f"{STATE_DIR}/saved-blocks.json"
LIBRARY_DIR = f"{BUILD_DIR}/library"
NOTEBOOKS_DIR = f"{BUILD_DIR}/notebooks"
READING_ORDER = f"{NOTEBOOKS_DIR}/order.json"  # the chapters in toc order, and the orphans (read by html)
EVAL_DIR = f"{BUILD_DIR}/eval"
ENV_DIR = f"{BUILD_DIR}/envs"
EDIT_DIR = f"{BUILD_DIR}/edit"
EDIT_SERVER_DIR = f"{EDIT_DIR}/.jupyter"  # the Jupyter extension's records of what it opened
SITE_DIR = f"{BUILD_DIR}/site"
PAGE_SUFFIX = ".md"  # the site's pages (MyST Markdown, whatever the chapter's format)
HTML_DIR = f"{BUILD_DIR}/html"
PDF_DIR = f"{BUILD_DIR}/pdf"
SVG_CACHE = f"{PDF_DIR}/svg-cache"
OWN_TOOLCHAIN = ("venv",)  # build/venv: the toolchain, made by make, not by d2lbuild


def state_path(name: str) -> str:
    """The record of one command's last run (``extract-TABS``, ``notebooks-TABS``)."""
    return f"{STATE_DIR}/{name}.json"


def library_index_path(tab: str) -> str:
    """Where extract writes a tab's library index and source map (read by eval and check)."""
    return f"{LIBRARY_DIR}/{tab}.json"


def notebooks_dir(tab: str) -> str:
    return f"{NOTEBOOKS_DIR}/{tab}"


def notebook_path(tab: str, chapter: str) -> str:
    """Where a chapter's notebook for ``tab`` goes."""
    return f"{notebooks_dir(tab)}/{notebook_name(chapter)}"


def eval_dir(tab: str) -> str:
    return f"{EVAL_DIR}/{tab}"


def eval_path(tab: str, chapter: str) -> str:
    """A chapter's evaluated notebook."""
    return f"{eval_dir(tab)}/{notebook_name(chapter)}"


def result_path(tab: str, notebook: str) -> str:
    """The evaluated notebook of a built notebook (``build/notebooks/TAB/x.ipynb`` -> ``build/eval/TAB/x.ipynb``)."""
    return f"{eval_dir(tab)}/" + notebook.split(f"{notebooks_dir(tab)}/", 1)[1]


def failed_copy_path(result: str) -> str:
    """Where a failed run's notebook is kept beside its result's place."""
    return result.removesuffix(NOTEBOOK_SUFFIX) + ".failed" + NOTEBOOK_SUFFIX


def eval_cache_path(tab: str) -> str:
    return f"{eval_dir(tab)}/cache.json"


def failures_path(tab: str) -> str:
    return f"{eval_dir(tab)}/failures.json"


def report_path(tab: str) -> str:
    return f"{eval_dir(tab)}/report.json"


def env_dir(tab: str) -> str:
    return f"{ENV_DIR}/{tab}"


def edit_path(tab: str, chapter: str, folder: str = EDIT_DIR) -> str:
    """The notebook ``d2lbuild edit`` writes for a chapter (Markdown chapters only)."""
    return f"{folder}/{tab}/{notebook_name(chapter)}"


def pdf_dir(tab: str) -> str:
    """A tab's PDF work: ``site`` (its pages), ``latex`` (the .tex, LaTeX's log and PDF), ``doctrees``."""
    return f"{PDF_DIR}/{tab}"


def pdf_site_dir(tab: str) -> str:
    return f"{pdf_dir(tab)}/site"


def pdf_latex_dir(tab: str) -> str:
    return f"{pdf_dir(tab)}/latex"


def pdf_doctrees_dir(tab: str) -> str:
    return f"{pdf_dir(tab)}/doctrees"


def published_pdf(name: str, tab: str | None = None) -> str:
    """A finished book: ``build/pdf/NAME-TAB.pdf``, or the default tab's ``build/pdf/NAME.pdf``."""
    return f"{PDF_DIR}/{name}-{tab}.pdf" if tab else f"{PDF_DIR}/{name}.pdf"


NODE_ENV_DIR = "envs"  # on a cluster node, under its own folder (``D2LBUILD_NODE_DIR``): the environments it made
