"""A Sphinx extension of the site: d2lbook's API pages (``.. autoclass:: Name`` and the like) without importing.

autodoc would import each tab's library, and so its framework, into the process that builds the site.
Here each ``auto*`` directive shows the name as each tab's library defines it (read with ``ast`` by
``d2lbuild.html.api`` into the site's ``_api.json``): one tab per framework, synced with the page's other
tabs, each with the Python domain's description (``d2l.torch.Trainer(...)``), the docstring with its
"Defined in" link, and, with ``:members:``, the public methods. A name no library defines is described
without a signature. autodoc's options are accepted; only ``:members:`` changes what is shown.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from .api import API_FILE, read_api

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
    """Every option name is accepted, with its text as it is.

    Non-empty in truth value: docutils parses a directive's options only when its option spec is truthy,
    and an empty dict would leave ``:members:`` in the content as text.
    """

    def __bool__(self) -> bool:
        return True

    def __contains__(self, name: object) -> bool:
        return True

    def __getitem__(self, name: str):
        return directives.unchanged


@functools.lru_cache(maxsize=4)
def _api(path: str, stamp: int) -> dict[str, dict]:
    return read_api(Path(path))


def indented(text: str, prefix: str) -> list[str]:
    return [prefix + line if line.strip() else "" for line in text.split("\n")]


class NameWithoutImport(SphinxDirective):
    """``.. autoclass:: Name`` as each tab library's ``.. py:class:: d2l.TAB.Name(...)``; nothing imported."""

    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = True
    has_content = True
    option_spec = AnyOption()

    def run(self) -> list:
        kind = KINDS[self.name]
        name = self.arguments[0].strip()
        lines = self.tabs_of(name.rsplit(".", 1)[-1]) if kind != "module" else []
        if not lines:
            lines = [f".. py:{kind}:: {name}"] + (["   :no-index:"] if kind == "module" else [])
        holder = nodes.Element()
        self.state.nested_parse(StringList(lines, self.get_source_info()[0]), self.content_offset, holder)
        return holder.children

    def api(self) -> dict[str, dict]:
        path = Path(self.env.srcdir) / API_FILE
        if not path.is_file():
            return {}
        self.env.note_dependency(str(path))
        return _api(str(path), path.stat().st_mtime_ns)

    def tabs_of(self, short: str) -> list[str]:
        """A tab set with the name as each tab's library defines it; empty when no library does."""
        api = self.api()
        names = self.config.d2l_tab_names or {}
        if not any(short in library.get("names", {}) for library in api.values()):
            return []
        lines = [".. tab-set::", "   :sync-group: framework", ""]
        for tab, library in api.items():
            lines += [f"   .. tab-item:: {names.get(tab, tab)}", f"      :sync: {tab}", ""]
            entry = library.get("names", {}).get(short)
            if entry is None:
                lines += ["      .. container:: d2l-not-available", "", f"         Not in the {names.get(tab, tab)} library.", ""]
            else:
                lines += self.entry(library["module"], short, entry, "      ")
        return lines

    def entry(self, module: str, short: str, entry: dict, prefix: str) -> list[str]:
        kind = {"class": "class", "function": "function"}.get(entry.get("kind"), "function")
        lines = [f"{prefix}.. py:{kind}:: {module}.{short}({entry.get('signature', '')})", ""]
        lines += indented(entry.get("doc", ""), prefix + "   ") + [""]
        if "members" in self.options:
            for method in entry.get("methods", []):
                lines += [f"{prefix}   .. py:method:: {method['name']}({method.get('signature', '')})", ""]
                lines += indented(method.get("doc", ""), prefix + "      ") + [""]
        return lines


def setup(app) -> dict[str, Any]:
    app.add_config_value("d2l_tab_names", {}, "env")
    # bumped when the site's configuration reads pages differently (bibliography labels ...): every page is read again
    app.add_config_value("d2l_site_format", 0, "env")
    for name in KINDS:
        app.add_directive(name, NameWithoutImport, override=True)
    return {"version": "2", "parallel_read_safe": True, "parallel_write_safe": True}
