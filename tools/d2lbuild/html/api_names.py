"""A Sphinx extension of the site: d2lbook's API pages (``.. autoclass:: Name`` and the like) without importing.

autodoc would import each tab's library, and so its framework, into the process that builds the site.
Here each ``auto*`` directive becomes the Python domain's description of the name (``.. py:class::`` for
``autoclass``, ``.. py:function::`` for ``autofunction`` ...), anchored so that references reach it; the
options autodoc takes (``:members:`` ...) are accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

KINDS = {
    "autoclass": "class",
    "autoexception": "exception",
    "autofunction": "function",
    "automethod": "method",
    "autoattribute": "attribute",
    "autodata": "data",
    "automodule": "module",
}


class AnyOption(dict):
    """Every option name is accepted, with its text as it is."""

    def __contains__(self, name: object) -> bool:
        return True

    def __getitem__(self, name: str):
        return directives.unchanged


class NameWithoutImport(SphinxDirective):
    """``.. autoclass:: Name`` as ``.. py:class:: Name``: the name described, nothing imported."""

    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = True
    has_content = True
    option_spec = AnyOption()

    def run(self) -> list:
        kind = KINDS[self.name]
        lines = [f".. py:{kind}:: {self.arguments[0]}"] + (["   :no-index:"] if kind == "module" else [])
        holder = nodes.Element()
        self.state.nested_parse(StringList(lines, self.get_source_info()[0]), self.content_offset, holder)
        return holder.children


def setup(app) -> dict[str, Any]:
    for name in KINDS:
        app.add_directive(name, NameWithoutImport, override=True)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
