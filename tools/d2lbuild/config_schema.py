"""The one table of ``config.ini``'s keys: section, type, default and the stages that read each.

Every reader of config.ini (the library, notebooks, eval, the site, the PDF) takes its values through
this table; a key of a checked section that the table does not list is warned about at its line.
``TAB`` in a section name stands for any tab of ``[build] tabs`` (``[library-pytorch]``, ``[eval-mxnet]``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

# The types of values: how a value is split and checked.
TEXT, WORDS, LINES, PATH, PATHS, SECONDS, CHOICE, FLAG, MAPPING = (
    "text", "words", "lines", "path", "paths", "seconds", "choice", "flag", "mapping")
FLAG_VALUES = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


@dataclass(frozen=True)
class Key:
    """One key of config.ini."""

    section: str  # ``library-TAB`` and ``eval-TAB`` stand for every tab's section
    name: str
    kind: str
    default: str = ""
    stages: tuple[str, ...] = ()  # the commands that read it; () for d2lbook's keys d2lbuild leaves alone
    doc: str = ""


_LIB = ("extract",)
_NB = ("notebooks", "eval", "html", "pdf")
_EVAL = ("eval",)
_SITE = ("html", "pdf")
_TAB_LIB = ("extract", "notebooks")
_EVAL_KEYS = (
    ("requirements", LINES, "", "pip requirement lines for build/envs/TAB (also -r FILE, relative to the book)"),
    ("python", TEXT, "", "an existing interpreter to use instead (e.g. a GPU machine's own install)"),
    ("env", LINES, "", "NAME = VALUE lines set in the kernels"),
    ("device", CHOICE, "auto", "auto, cpu or gpu"),
    ("timeout", SECONDS, "600", "seconds a cell may run"),
    ("timeouts", LINES, "", "GLOB = SECONDS lines for sections; [eval-TAB] lines win, then the later line"),
    ("gpu_sections", WORDS, "", "globs of sections that need a GPU"),
    ("preload", WORDS, "", "modules warm kernels import before forking (default: the library's imports; none: off)"),
    ("cluster", TEXT, "", "a Ray cluster to evaluate on, as --cluster"),
)
_LIBRARY_TAB_KEYS = (
    ("lib_file", PATH, "d2l/MODULE.py", "the tab's library file"),
    ("lib_name", TEXT, "MODULE", "the framework's module name in aliases"),
    ("simple_alias", MAPPING, "", "functions served as lib_name.NAME"),
    ("fluent_alias", MAPPING, "", "functions served as methods"),
    ("args_alias", MAPPING, "", "functions served through a template"),
    ("alias", LINES, "", "lines copied into the library"),
    ("reverse_alias", LINES, "", "text -> replacement lines for the library"),
)

SCHEMA: tuple[Key, ...] = (
    Key("project", "name", TEXT, "book", _SITE, "the book's short name (the PDF's file)"),
    Key("project", "title", TEXT, "", _SITE, "the book's title (default: name)"),
    Key("project", "author", TEXT, "", _SITE),
    Key("project", "copyright", TEXT, "", ("html",), "default: author"),
    Key("project", "release", TEXT, "", ("extract", "html", "pdf"), "the library's __version__"),
    Key("project", "lang", TEXT, "en", ("pdf",)),
    Key("build", "index", PATH, "index", _NB, "the root chapter"),
    Key("build", "notebooks", PATHS, "**/*.md", _NB + _LIB, "globs of the chapters"),
    Key("build", "exclusions", PATHS, "", _NB + _LIB, "globs left out"),
    Key("build", "non-notebooks", PATHS, "", _NB + _LIB, "globs of chapters that are not evaluated"),
    Key("build", "resources", PATHS, "", _EVAL + _SITE, "files the notebooks read"),
    Key("build", "tabs", WORDS, "default", _NB + _LIB, "the frameworks, the first is the default"),
    Key("build", "eval_notebook", FLAG, "true"),
    Key("build", "sphinx_configs", LINES),
    Key("build", "source_dir", PATH),
    Key("build", "output_dir", PATH),
    Key("build", "parallel_execution", FLAG),
    Key("library", "version_file", PATH, "", _LIB, "the file whose __version__ is set to the release"),
    Key("library", "save_filename", PATH, "", _LIB, "the first tab's library (older books)"),
    Key("library", "release", TEXT, "", _LIB, "the release when [project] gives none"),
    Key("library", "save_mark", TEXT),
    *(Key("library-TAB", name, kind, default, _TAB_LIB, doc) for name, kind, default, doc in _LIBRARY_TAB_KEYS),
    *(Key("eval", name, kind, default, _EVAL, doc) for name, kind, default, doc in _EVAL_KEYS),
    *(Key("eval-TAB", name, kind, default, _EVAL, doc) for name, kind, default, doc in _EVAL_KEYS if name != "cluster"),
    Key("html", "bibfile", PATH, "", _SITE, "the BibTeX file"),
    Key("html", "edit_url", TEXT, "", ("html",), "the page's edit link, {path} is the chapter"),
    Key("html", "mathjax_path", TEXT, "", ("html",), "MathJax's URL (default: a copy in the site)"),
    Key("html", "favicon", PATH, "", ("html",)),
    Key("html", "header_links", LINES, "", ("html",), "name, URL, icon triples"),
    Key("html", "html_logo", PATH, "", ("html",)),
    Key("html", "include_css", PATHS, "", ("html",)),
    Key("html", "include_js", PATHS),
    Key("pdf", "bibfile", PATH, "", ("pdf",), "the BibTeX file when [html] gives none"),
    Key("pdf", "latex_logo", PATH, "", ("pdf",)),
    Key("pdf", "main_font", TEXT, "DejaVu Serif", ("pdf",)),
    Key("pdf", "sans_font", TEXT, "DejaVu Sans", ("pdf",)),
    Key("pdf", "mono_font", TEXT, "DejaVu Sans Mono", ("pdf",)),
    Key("pdf", "post_latex", PATH),
    Key("pdf", "latex_url", TEXT),
    Key("pdf", "style", TEXT),
    *(Key(service, name, LINES, "", ("html",)) for service in ("colab", "sagemaker")
      for name in ("github_repo", "libs", "kernel", "replace_svg_url")),
)

# Sections whose keys are all listed: any other key there is warned about. The others ([project], [deploy],
# [slides], [translation], ...) may hold keys of d2lbook's or a book's own templates.
CHECKED_SECTIONS = ("build", "library", "library-TAB", "eval", "eval-TAB", "html", "pdf", "colab", "sagemaker")
_BY_KEY = {(key.section, key.name): key for key in SCHEMA}


def schema_section(section: str) -> str:
    """The schema's name of a section: ``library-pytorch`` is ``library-TAB``."""
    head, dash, _ = section.partition("-")
    return f"{head}-TAB" if dash and head in ("library", "eval") else section


def schema_key(section: str, name: str) -> Key | None:
    return _BY_KEY.get((schema_section(section), name))


def section_keys(section: str) -> frozenset[str] | None:
    """The keys a checked section may hold, or None for a section that is not checked."""
    section = schema_section(section)
    if section not in CHECKED_SECTIONS:
        return None
    return frozenset(key.name for key in SCHEMA if key.section == section)


def suggestion(section: str, name: str) -> str | None:
    """The known key of ``section`` an unknown ``name`` is most likely a misspelling of."""
    close = difflib.get_close_matches(name, sorted(section_keys(section) or ()), n=1, cutoff=0.7)
    return close[0] if close else None


def unused_by(stage: str, section: str) -> frozenset[str]:
    """The listed keys of ``section`` that ``stage`` does not read (d2lbook's, left alone)."""
    section = schema_section(section)
    return frozenset(key.name for key in SCHEMA if key.section == section and stage not in key.stages)
