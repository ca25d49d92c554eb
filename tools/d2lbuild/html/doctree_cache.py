"""A Sphinx extension of the site: each ``:numref:`` no longer unpickles the whole page it points to.

To resolve a numbered reference, Sphinx loads the target page's doctree from its pickle only to look at the
target node, once per reference: d2l-en's 900 references cost about 40 s of a cold build. While a
reference is resolved here, the doctrees it reads come from a small cache of this build (the lookup only
reads them), so a page that many references point to is loaded once.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from sphinx.domains.std import StandardDomain

MEMO = "d2l_numref_doctrees"  # on the builder: docname -> doctree, most recently used last
SIZE = 24


def _shared_doctrees(resolve):
    def resolve_numref(self, env, fromdocname, builder, *args, **kwargs):
        memo = getattr(builder, MEMO, None)
        if memo is None or "get_doctree" in vars(env):  # a project without this extension, or already shared
            return resolve(self, env, fromdocname, builder, *args, **kwargs)
        load = env.get_doctree

        def cached(docname: str):
            if docname in memo:
                memo.move_to_end(docname)
            else:
                memo[docname] = load(docname)
                if len(memo) > SIZE:
                    memo.popitem(last=False)
            return memo[docname]

        env.get_doctree = cached
        try:
            return resolve(self, env, fromdocname, builder, *args, **kwargs)
        finally:
            vars(env).pop("get_doctree", None)

    resolve_numref.d2l_shared = True
    return resolve_numref


def _start(app) -> None:
    setattr(app.builder, MEMO, OrderedDict())


def setup(app) -> dict[str, Any]:
    method = getattr(StandardDomain, "_resolve_numref_xref", None)
    if method is not None and not getattr(method, "d2l_shared", False):
        StandardDomain._resolve_numref_xref = _shared_doctrees(method)
    app.connect("builder-inited", _start)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
