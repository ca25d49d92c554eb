"""A Sphinx extension of the site: the search index stems each word once per build, not once per page.

Sphinx remembers stems within one page only, so the English stemmer runs again for the same words on
every page (over 100,000 calls for d2l-en). Stemming is a function of the word alone; once the first
page is written, the stemmer of the search index is wrapped in a cache for the rest of the build.
"""

from __future__ import annotations

import functools
from typing import Any

WORDS = 1 << 16


def _memoise_stemmer(app, pagename, templatename, context, doctree) -> None:
    language = getattr(getattr(app.builder, "indexer", None), "lang", None)
    if language is not None and "stem" not in vars(language):
        language.stem = functools.lru_cache(maxsize=WORDS)(language.stem)


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", _memoise_stemmer)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
