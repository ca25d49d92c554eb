"""A Sphinx extension of the site: the theme's templates compiled once, not in every build.

Sphinx compiles every Jinja template it renders in each new process, which costs most of a second for the
theme on every ``d2lbuild html``. Jinja's own bytecode cache (under Sphinx's doctree folder) keeps the
compiled templates; it keys each entry on the template's name and the checksum of its source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache


def _cache_templates(app) -> None:
    environment = getattr(getattr(app.builder, "templates", None), "environment", None)
    if isinstance(environment, Environment):
        folder = Path(app.doctreedir) / "jinja"
        folder.mkdir(parents=True, exist_ok=True)
        environment.bytecode_cache = FileSystemBytecodeCache(str(folder))


def setup(app) -> dict[str, Any]:
    app.connect("builder-inited", _cache_templates)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
