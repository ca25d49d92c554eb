"""The conf.py Sphinx reads for the site: MyST, sphinx-design tabs, numbered figures and equations, the theme."""

from __future__ import annotations

# MathJax served by the site itself (copied into _static by d2lbuild html), so that math renders offline:
# its loader with only the parts the book needs (TeX in, HTML out, MathML for screen readers), 0.7 MB instead
# of the 1.2 MB of the combined build with menu and MathML input.
MATHJAX_PATH = "mathjax/startup.js"
MATHJAX_CONFIG = {"loader": {"load": ["input/tex", "output/chtml", "a11y/assistive-mml"]}}
# numbered figures, tables, sections and equations as d2lbook writes them: the website and the PDFs share them
NUMBERING = {
    "numfig": True,
    "numfig_secnum_depth": 2,
    "numfig_format": {"figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s", "section": "Section %s"},
    "math_numfig": True,
    "math_eqref_format": "({number})",
}

# Citations as d2lbook shows them: "Smith and Jones (2020)", "(Smith and Jones, 2020)".
ROUND_CITATIONS = """\
import dataclasses

import sphinxcontrib.bibtex.plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def _round():
    return BracketStyle(left="(", right=")")


@dataclasses.dataclass
class RoundAuthorYear(AuthorYearReferenceStyle):
    bracket_parenthetical: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_textual: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_author: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_label: BracketStyle = dataclasses.field(default_factory=_round)
    bracket_year: BracketStyle = dataclasses.field(default_factory=_round)


sphinxcontrib.bibtex.plugin.register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYear)


# The bibliography labels its entries as the text cites them ("LeCun et al., 1998"), not "[LBBH98]".
import pybtex.plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person):
    return " ".join(person.last_names).replace("{", "").replace("}", "").replace(chr(92), "")


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_last_name(person) for person in people]
            who = names[0] + " et al." if len(names) > 2 else " and ".join(names) or entry.key
            year = entry.fields.get("year", "")
            yield f"{who}, {year}" if year else who


class AuthorYearStyle(AlphaStyle):
    default_label_style = "d2l_author_year"


pybtex.plugin.register_plugin("pybtex.style.labels", "d2l_author_year", AuthorYearLabels, force=True)
pybtex.plugin.register_plugin("pybtex.style.formatting", "d2l_author_year", AuthorYearStyle, force=True)"""


SITE_FORMAT = 2  # d2lbuild's way of reading pages: a new one makes Sphinx read every page again


def conf_text(settings, root_doc: str, bibfile: str | None, tab_names: dict[str, str] | None = None) -> str:
    """conf.py as text; it changes only when the settings do, so Sphinx keeps its incremental state."""
    speedups = ["d2lbuild.html.numbering", "d2lbuild.html.jinja_cache", "d2lbuild.html.doctree_cache", "d2lbuild.html.search_cache"]
    extensions = ["myst_parser", "sphinx_design", "d2lbuild.html.api_names", *speedups]
    extensions += ["sphinxcontrib.bibtex"] if bibfile else []
    values = {
        "project": settings.title,
        "author": settings.author,
        "copyright": settings.copyright,
        "root_doc": root_doc,
        "extensions": extensions,
        "d2l_tab_names": tab_names or {},
        "d2l_site_format": SITE_FORMAT,
        "myst_enable_extensions": ["dollarmath", "amsmath", "colon_fence"],
        "myst_dmath_double_inline": True,
        **NUMBERING,
        "exclude_patterns": ["_extra", "_static", "_outputs", "_templates"],
        "templates_path": ["_templates"],
        "html_theme": "pydata_sphinx_theme",
        "html_title": settings.title,
        "html_static_path": ["_static"],
        "html_css_files": ["d2l.css"],
        "html_js_files": ["d2l-tabs.js"],
        "html_copy_source": False,
        "html_use_index": False,  # d2lbook books have no general index; writing it costs every build
        "html_domain_indices": False,
        "html_show_sourcelink": False,
        "html_theme_options": {
            "show_toc_level": 2,
            "navigation_with_keys": False,
            "secondary_sidebar_items": ["page-toc"],
            "collapse_navigation": True,  # the sidebar lists every chapter, the current one open
            "navigation_depth": 3,
            "header_links_before_dropdown": 3,
        },
        # unresolved references, citations and missing images are reported by d2lbuild itself, at the chapter's line
        # Sphinx started again in one process (as the tests do) registers docutils' nodes and roles again.
        "suppress_warnings": ["myst.header", "misc.highlighting_failure", "ref.numref", "ref.ref", "ref.eq", "bibtex.key_not_found",
                              "image.not_readable", "app.add_node", "app.add_directive", "app.add_role"],
    }
    if settings.header_links:
        values["html_theme_options"]["icon_links"] = [
            {"name": name, "url": url, "icon": icon, "type": "fontawesome"} for name, url, icon in settings.header_links
        ]
    if settings.logo:
        values["html_logo"] = settings.logo
    if settings.favicon:
        values["html_favicon"] = settings.favicon
    values["html_css_files"] = ["d2l.css", *settings.include_css]
    if bibfile:
        values["bibtex_bibfiles"] = [bibfile]
        values["bibtex_reference_style"] = "author_year_round"
        values["bibtex_default_style"] = "d2l_author_year"
    values["mathjax_path"] = settings.mathjax_path or MATHJAX_PATH
    if not settings.mathjax_path:
        values["mathjax3_config"] = MATHJAX_CONFIG
    lines = ["# Written by `d2lbuild html`; changes here are overwritten.", ""]
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    if bibfile:
        lines += ["", ROUND_CITATIONS]
    return "\n".join(lines) + "\n"
