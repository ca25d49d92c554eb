"""Helpers shared by the tests: tiny books written into a temporary folder, and the CLI runner."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from d2lbuild.cli import main

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS.parents[1].parent / "shared" / "fixtures"
BOOKS = TESTS / "books"

DEFAULT_CONFIG = """\
[build]
index = index
notebooks = **/*.md
tabs = {tabs}
"""


def write_book(root: Path, files: dict[str, str], tabs: str = "mxnet, pytorch, tensorflow", config: str | None = None) -> Path:
    """Write a book: config.ini, an index.md whose toc lists every other .md file, and ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.ini").write_text(config if config is not None else DEFAULT_CONFIG.format(tabs=tabs))
    if "index.md" not in files:
        entries = "\n".join(name[:-3] for name in files if name.endswith(".md"))
        (root / "index.md").write_text(f"# Book\n\n```toc\n{entries}\n```\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run(root: Path, *args: str):
    """Run ``d2lbuild --root ROOT ARGS`` in-process; the result has exit_code, stdout and stderr."""
    return CliRunner().invoke(main, ["--root", str(root), *args], catch_exceptions=False)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes, to prove that a failure wrote nothing."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def book(tmp_path: Path):
    """A function writing a book into a fresh folder and returning its root."""

    def make(files: dict[str, str], **kwargs) -> Path:
        return write_book(tmp_path / "book", files, **kwargs)

    return make


@pytest.fixture
def small_book(tmp_path: Path) -> Path:
    """A copy of the small test book, safe to modify."""
    root = tmp_path / "small"
    shutil.copytree(BOOKS / "small", root, ignore=shutil.ignore_patterns("build", "d2l"))
    return root

