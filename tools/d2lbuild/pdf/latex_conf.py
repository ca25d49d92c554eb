"""The conf.py Sphinx's LaTeX builder reads for one framework's PDF, and the title page LaTeX reads beside it."""

from __future__ import annotations

from ..html.sphinx_conf import NUMBERING, ROUND_CITATIONS
from ..notebook import DISPLAY_NAMES
from .settings import CJK_FONTS, PdfSettings

TITLE_FILE = "d2l-title.tex"

# Chapters outside a numbered toc (a preface, the references) are unnumbered, as on the website;
# \dtwolunnumbered and \dtwolnumbered are placed before the root page's tocs.
PREAMBLE = r"""
\newcount\dtwolsecnumdepth
\AtBeginDocument{\dtwolsecnumdepth=\value{secnumdepth}}
\newcommand{\dtwolunnumbered}{\setcounter{secnumdepth}{-1}}
\newcommand{\dtwolnumbered}{\setcounter{secnumdepth}{\dtwolsecnumdepth}}
\tracinglostchars=2
"""


def tex_name(settings: PdfSettings, tab: str) -> str:
    return f"{settings.name}-{tab}"


def conf_text(settings: PdfSettings, tab: str, root_doc: str, bibfile: str | None, svg_cache: str, appendices: list[str]) -> str:
    """conf.py as text; it depends on the settings and the tab only, so Sphinx keeps its incremental state."""
    # sphinx_design: API pages show each name in a tab set (of this tab only, here)
    extensions = ["myst_parser", "sphinx_design", "d2lbuild.html.api_names", "d2lbuild.pdf.sphinx_ext"]
    extensions += ["sphinxcontrib.bibtex"] if bibfile else []
    values = {
        "project": settings.title,
        "author": settings.author,
        "release": settings.release,
        "language": settings.language,
        "root_doc": root_doc,
        "extensions": extensions,
        # MyST's amsmath takes a \begin{bmatrix} that starts a line inside $$...$$ for a display of its own, running
        # to the next line that ends with \end{bmatrix} (d2l-zh: 220 lines on); MathJax shows the pieces, LaTeX stops.
        # d2lbook's books write every display between $$.
        "myst_enable_extensions": ["dollarmath", "colon_fence"],
        "myst_dmath_double_inline": True,
        **NUMBERING,
        "exclude_patterns": ["_extra", "_static", "_outputs"],
        "latex_engine": "xelatex",
        "latex_documents": [(root_doc, tex_name(settings, tab) + ".tex", settings.title, settings.author, "manual")],
        "latex_show_pagerefs": True,
        "latex_appendices": appendices,
        "latex_elements": latex_elements(settings),
        "d2l_svg_cache": svg_cache,
        "d2l_tab_names": {tab: DISPLAY_NAMES.get(tab, tab)},
        "suppress_warnings": ["myst.header", "misc.highlighting_failure", "ref.numref", "ref.ref", "ref.eq", "bibtex.key_not_found",
                              "image.not_readable", "app.add_node", "app.add_directive", "app.add_role"],
    }
    if bibfile:
        values["bibtex_bibfiles"] = [bibfile]
        values["bibtex_reference_style"] = "author_year_round"
    lines = ["# Written by `d2lbuild pdf`; changes here are overwritten.", ""]
    lines += [f"{name} = {value!r}" for name, value in values.items()]
    if bibfile:
        lines += ["", ROUND_CITATIONS]
    return "\n".join(lines) + "\n"


def latex_elements(settings: PdfSettings) -> dict[str, str]:
    fonts = settings.fonts
    fontpkg = (
        f"\\setmainfont{{{fonts['main']}}}\n\\setsansfont{{{fonts['sans']}}}\n"
        f"\\setmonofont[Scale=MatchLowercase]{{{fonts['mono']}}}\n"
    )
    elements = {
        "papersize": "letterpaper",
        "pointsize": "10pt",
        "fontpkg": fontpkg,
        "preamble": PREAMBLE,
        "maketitle": f"\\input{{{TITLE_FILE}}}",
        "sphinxsetup": "verbatimwrapslines=true, verbatimforcewraps=true, verbatimmaxoverfull=1, verbatimmaxunderfull=1",
        "makeindex": "",
        "printindex": "",
        "figure_align": "htbp",
    }
    if settings.cjk:
        elements["polyglossia"] = ""
        elements["babel"] = ""
        elements["fontenc"] = "\\usepackage{fontspec}\n\\usepackage{xeCJK}"
        elements["fontpkg"] = fontpkg + (
            f"\\setCJKmainfont{{{CJK_FONTS['main']}}}\n\\setCJKsansfont{{{CJK_FONTS['sans']}}}\n"
            f"\\setCJKmonofont{{{CJK_FONTS['mono']}}}\n"
        )
        elements["fvset"] = "\\fvset{fontsize=\\small,formatcom=\\xeCJKVerbAddon}"
    return elements


def title_page(settings: PdfSettings, tab: str, not_run: tuple[int, int], logo: str | None) -> str:
    """The title page: the book's title, the framework, author and release; a note when code was not run."""
    from sphinx.util.texescape import escape

    name = DISPLAY_NAMES.get(tab, tab)
    lines = [r"\begin{titlepage}", r"\centering", r"\vspace*{3cm}"]
    if logo:
        lines += [f"\\includegraphics[width=0.4\\textwidth]{{{logo}}}\\par", r"\vspace{1cm}"]
    lines += [f"{{\\Huge\\bfseries {escape(settings.title)}\\par}}", r"\vspace{1cm}", f"{{\\LARGE {escape(name)}\\par}}", r"\vspace{2cm}"]
    if settings.author:
        lines += [f"{{\\Large {escape(settings.author)}\\par}}", r"\vspace{0.5cm}"]
    if settings.release:
        lines += [f"{{\\large Release {escape(settings.release)}\\par}}"]
    lines += [r"\vfill"]
    missing, total = not_run
    if missing:
        scope = "of this book was" if missing == total else f"of {missing} of its {total} sections was"
        lines += [f"{{\\large The {escape(name)} code {scope} not run: it is shown without outputs.\\par}}"]
    lines += [r"\end{titlepage}", ""]
    return "\n".join(lines)
