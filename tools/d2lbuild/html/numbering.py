"""A Sphinx extension of the site: figure numbers are not recomputed when no page's numbering layout changed.

With ``numfig`` on, Sphinx numbers figures, tables and equations on every build by loading the doctree of
every page in toc order, which costs seconds on a big book even when one paragraph changed. This extension
records, for each page read, its numbering layout: its sections, its numbered elements (kind and id) and
its toctrees, in document order. When every page read in this build kept its layout, no page was added or
removed and the configuration is unchanged, the numbers are those of the last build, so Sphinx's walk is
skipped and the pages read again get their previous numbers back. Otherwise Sphinx numbers as usual.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.domains.std import StandardDomain
from sphinx.environment import CONFIG_OK
from sphinx.environment.collectors.toctree import TocTreeCollector

LAYOUTS = "d2l_numbering_layouts"  # docname -> layout, kept in Sphinx's pickled environment
NUMBERED_DOCS = "d2l_numbering_docs"  # the pages the last full numbering saw
BEFORE = "d2l_numbering_before"  # this build: docname read -> (its previous layout, its previous figure numbers)


def numbering_layout(env, doctree: nodes.Node) -> tuple:
    """What figure numbering reads from a page, in document order."""
    layout: list[tuple] = []

    def walk(node: nodes.Element, depth: int) -> None:
        for child in node.children:
            if isinstance(child, nodes.section):
                layout.append(("section", depth, tuple(child["ids"])))
                walk(child, depth + 1)
            elif isinstance(child, addnodes.toctree):
                entries = tuple(tuple(entry) for entry in child.get("entries", ()))
                layout.append(("toctree", depth, entries, child.get("numbered"), child.get("maxdepth")))
            elif isinstance(child, nodes.Element):
                if child["ids"]:
                    layout.append(("element", depth, type(child).__name__, tuple(child["ids"]), _numbered_kind(env, child)))
                walk(child, depth)

    walk(doctree, 0)
    return tuple(layout)


def _numbered_kind(env, node: nodes.Element) -> str | None:
    """The kind of number a node gets (figure, table, code-block, displaymath), None for none."""
    domains = env.domains.sorted() if hasattr(env.domains, "sorted") else env.domains.values()  # Sphinx 8.1 and later
    for domain in domains:
        kind = domain.get_enumerable_node_type(node)
        if isinstance(domain, StandardDomain) and not domain.get_numfig_title(node):
            continue
        if kind:
            return kind
    return None


def _record(app, doctree: nodes.document) -> None:
    env = app.env
    current = getattr(env, "current_document", None)  # Sphinx 8.2 and later; env.docname before
    docname = current.docname if current is not None else env.docname
    _layouts(env)[docname] = numbering_layout(env, doctree)


def _before_read(app, env, docnames: list[str]) -> None:
    layouts = _layouts(env)
    before = {name: (layouts.get(name), env.toc_fignumbers.get(name)) for name in docnames}
    setattr(env, BEFORE, before if env.config_status == CONFIG_OK else None)


def _purge(app, env, docname: str) -> None:
    _layouts(env).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    theirs = getattr(other, LAYOUTS, {})
    layouts = _layouts(env)
    for name in docnames:
        if name in theirs:
            layouts[name] = theirs[name]


def _layouts(env) -> dict[str, tuple]:
    if not isinstance(getattr(env, LAYOUTS, None), dict):
        setattr(env, LAYOUTS, {})
    return getattr(env, LAYOUTS)


def numbering_unchanged(env) -> bool:
    """Whether the figure numbers of the last build still hold for every page."""
    before = getattr(env, BEFORE, None)
    if before is None or getattr(env, NUMBERED_DOCS, None) != frozenset(env.found_docs):
        return False
    layouts = _layouts(env)
    return all(previous is not None and layouts.get(name) == previous for name, (previous, _) in before.items())


def _assign_figure_numbers(original):
    def assign(self, env) -> list[str]:
        if getattr(env, LAYOUTS, None) is not None and numbering_unchanged(env):
            for name, (_, numbers) in getattr(env, BEFORE).items():
                if numbers is not None:
                    env.toc_fignumbers[name] = numbers
            setattr(env, BEFORE, None)
            return []
        changed = original(self, env)
        setattr(env, NUMBERED_DOCS, frozenset(env.found_docs))
        setattr(env, BEFORE, None)
        return changed

    assign.d2l_numbering = True
    return assign


def setup(app) -> dict[str, Any]:
    method = TocTreeCollector.assign_figure_numbers
    if not getattr(method, "d2l_numbering", False):
        TocTreeCollector.assign_figure_numbers = _assign_figure_numbers(method)
    app.connect("doctree-read", _record)
    app.connect("env-before-read-docs", _before_read)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
