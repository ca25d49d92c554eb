"""The chapter formats d2lbuild reads, in one table (as jupytext keeps its formats): every suffix check asks it.

Discovery (which files are chapters), the reader of each file, the output names (``x.md`` -> ``x.ipynb``), the
site's and the PDF's pages made from a chapter's own text, and editing in Jupyter (Markdown chapters only) all
follow ``CHAPTER_FORMATS``.
"""

from __future__ import annotations

from dataclasses import dataclass

NOTEBOOK_SUFFIX = ".ipynb"  # every chapter becomes a notebook of this suffix


@dataclass(frozen=True)
class ChapterFormat:
    """One kind of chapter file."""

    extension: str  # the file suffix, with its dot
    name: str  # said in messages
    reader: str  # which reader of source.py turns it into cells: "markdown", "notebook" or "percent"
    markdown: bool  # its text is Markdown with d2lbook's marks: a page can be made from it, it can be edited in Jupyter


CHAPTER_FORMATS: tuple[ChapterFormat, ...] = (
    ChapterFormat(".md", "Markdown", "markdown", markdown=True),
    ChapterFormat(".ipynb", "Jupyter notebook", "notebook", markdown=False),
    ChapterFormat(".py", "Python script with # %% cells", "percent", markdown=False),
)
MARKDOWN = CHAPTER_FORMATS[0]
CHAPTER_SUFFIXES = tuple(chapter.extension for chapter in CHAPTER_FORMATS)


def chapter_format(path: str) -> ChapterFormat | None:
    """The format of a chapter file by its suffix; None for a file that is no chapter."""
    return next((chapter for chapter in CHAPTER_FORMATS if path.endswith(chapter.extension)), None)


def is_markdown(path: str) -> bool:
    """Whether ``path`` is a Markdown chapter (its own text makes a page, Jupyter can edit it)."""
    found = chapter_format(path)
    return found is not None and found.markdown


def chapter_stem(path: str) -> str:
    """``path`` without its chapter suffix (unchanged when it has none): the name of its notebook and page."""
    found = chapter_format(path)
    return path[: -len(found.extension)] if found else path


def notebook_name(path: str) -> str:
    """The notebook a chapter becomes: ``x.md``, ``x.py`` and ``x.ipynb`` all give ``x.ipynb``."""
    return chapter_stem(path) + NOTEBOOK_SUFFIX
