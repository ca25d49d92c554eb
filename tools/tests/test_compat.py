"""Real d2lbook books (../shared/compat/books) build as d2lbook 1.0.3 builds them.

Libraries are compared byte for byte with the ones the books commit; notebooks of a handful of sections with
tricky tabs, aliases and layout are compared cell by cell with what d2lbook made of them (kept in
tests/data/compat, written by ../shared/compat/reference.sh).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TESTS, run

BOOKS = TESTS.parents[1].parent / "shared" / "compat" / "books"
EXPECTED = TESTS / "data" / "compat"
pytestmark = pytest.mark.skipif(not BOOKS.is_dir(), reason="../shared/compat/books is not beside the repository")


@pytest.fixture(scope="module", params=["d2l-en", "d2l-zh"])
def built(request, tmp_path_factory) -> tuple[str, Path]:
    """A copy of a real book after ``extract`` and ``notebooks``."""
    name = request.param
    root = tmp_path_factory.mktemp(name) / name
    shutil.copytree(BOOKS / name, root)
    assert run(root, "extract").exit_code == 0
    assert run(root, "notebooks").exit_code == 0
    return name, root


def test_libraries_are_byte_for_byte_what_the_book_commits(built):
    name, root = built
    committed = sorted((BOOKS / name / "d2l").glob("*.py"))
    assert committed
    for library in committed:
        assert (root / "d2l" / library.name).read_bytes() == library.read_bytes(), library.name


def test_extract_check_passes_on_the_book_as_committed(built):
    _, root = built
    result = run(root, "extract", "--check")
    assert result.exit_code == 0, result.stdout[-2000:]


def cells(notebook: dict) -> list[tuple[str, str]]:
    """What the comparison looks at: each cell's type and source (code without trailing spaces)."""
    found = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            source = "\n".join(line.rstrip() for line in source.split("\n"))
        found.append((cell["cell_type"], source))
    return found


def expected_notebooks(name: str):
    for path in sorted((EXPECTED / name).rglob("*.json")):
        tab = path.relative_to(EXPECTED / name).parts[0]
        section = path.relative_to(EXPECTED / name / tab).with_suffix(".ipynb").as_posix()
        yield tab, section, json.loads(path.read_text(encoding="utf-8"))


def test_notebooks_of_tricky_sections_are_d2lbooks_cell_for_cell(built):
    name, root = built
    checked = 0
    for tab, section, expected in expected_notebooks(name):
        ours = root / "build" / "notebooks" / tab / section
        if expected is None:  # d2lbook makes no notebook for this section in this tab
            assert not ours.exists(), f"{tab}/{section}"
            continue
        assert [list(cell) for cell in cells(json.loads(ours.read_text(encoding="utf-8")))] == expected, f"{tab}/{section}"
        checked += 1
    assert checked >= 3
