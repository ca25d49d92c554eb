"""Books written for d2lbook build as d2lbook 1.0.3 builds them.

Four real books (../shared/compat/books) are compared whole with what d2lbook made of them: every library byte for
byte (the comment under the WARNING line aside) and every notebook, none missing and none extra, cell for cell.
These are marked ``book`` (``make test-books``, a few seconds per book): the unit suite leaves them out.
What d2lbook made is kept small in tests/data/compat: ``BOOK.reference.txt`` holds a digest of each library and of
each notebook, and ``BOOK/TAB/SECTION.json`` the cells of a handful of tricky sections, to show what differs
(all written by compat_reference.py from ../shared/compat/reference.sh's output).

Small books (tests/books/compat-*) show the rules for tab blocks (one never closed, one nested and empty), for
tab marks below a cell's first line, and for hidden cells (``#@hide``, a comment to d2lbook). They commit d2lbook's libraries, and the cells of all their
notebooks are in tests/data/compat.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from compat_reference import cells, library_digest, notebook_digest
from conftest import BOOKS, TESTS, run

REAL_BOOKS = TESTS.parents[1].parent / "shared" / "compat" / "books"
EXPECTED = TESTS / "data" / "compat"
CURRENT_LIBRARIES = ("d2l-en", "d2l-zh")  # the books whose committed libraries are what d2lbook makes of them now
# the whole-book comparisons are `book` tests (make test-books, CI), out of the unit suite's two minutes
needs_real_books = pytest.mark.skipif(not REAL_BOOKS.is_dir(), reason="../shared/compat/books is not beside the repository")


def build_copy(source: Path, parent: Path) -> tuple[Path, str]:
    """A copy of a book after ``extract`` and ``notebooks``, and the warnings extract gave."""
    root = parent / source.name
    shutil.copytree(source, root)
    extracted = run(root, "extract")
    assert extracted.exit_code == 0, extracted.stderr[-2000:]
    assert run(root, "notebooks").exit_code == 0
    return root, extracted.stderr


@pytest.fixture(scope="module", params=["d2l-en", "d2l-zh", "d2l-pt", "d2l-vi"])
def real_book(request, tmp_path_factory) -> tuple[str, Path]:
    if not REAL_BOOKS.is_dir():
        pytest.skip("../shared/compat/books is not beside the repository")
    name = request.param
    root, _ = build_copy(REAL_BOOKS / name, tmp_path_factory.mktemp(name))
    return name, root


def reference(name: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """What d2lbook made of a real book: library digests by file name, notebook digests by (tab, path)."""
    libraries, notebooks = {}, {}
    for line in (EXPECTED / f"{name}.reference.txt").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[0] == "library":
            libraries[words[1]] = words[2]
            continue
        for made in words[1:]:
            tab, digest = made.split(":")
            notebooks[(tab, words[0])] = digest
    return libraries, notebooks


def made_notebooks(root: Path) -> dict[tuple[str, str], Path]:
    folder = root / "build" / "notebooks"
    return {(path.relative_to(folder).parts[0], path.relative_to(folder / path.relative_to(folder).parts[0]).as_posix()): path
            for path in folder.glob("*/**/*.ipynb")}


@pytest.mark.book
@needs_real_books
def test_libraries_are_byte_for_byte_d2lbooks(real_book):
    name, root = real_book
    libraries, _ = reference(name)
    assert libraries
    differ = [file for file, digest in libraries.items() if library_digest((root / "d2l" / file).read_text(encoding="utf-8")) != digest]
    assert not differ, f"{name}: {differ} differ from d2lbook's (compare with ../shared/compat/reference.sh's output)"


@pytest.mark.book
@needs_real_books
def test_libraries_are_what_the_book_commits_where_it_commits_d2lbooks(real_book):
    name, root = real_book
    if name not in CURRENT_LIBRARIES:
        pytest.skip(f"{name} commits libraries older than its chapters")
    for library in sorted((REAL_BOOKS / name / "d2l").glob("*.py")):
        assert (root / "d2l" / library.name).read_bytes() == library.read_bytes(), library.name
    result = run(root, "extract", "--check")
    assert result.exit_code == 0, result.stdout[-2000:]


@pytest.mark.book
@needs_real_books
def test_the_notebooks_are_those_d2lbook_makes_none_missing_none_extra(real_book):
    name, root = real_book
    _, expected = reference(name)
    made = made_notebooks(root)
    missing = sorted(set(expected) - set(made))
    extra = sorted(set(made) - set(expected))
    assert (missing, extra) == ([], []), f"{name}: missing {missing[:10]}, extra {extra[:10]}"


@pytest.mark.book
@needs_real_books
def test_every_notebook_has_d2lbooks_cells(real_book):
    name, root = real_book
    _, expected = reference(name)
    made = made_notebooks(root)
    differ = [f"{tab}/{path}" for (tab, path), digest in sorted(expected.items())
              if (tab, path) in made and notebook_digest(json.loads(made[(tab, path)].read_text(encoding="utf-8"))) != digest]
    assert not differ, f"{name}: {len(differ)} notebooks differ from d2lbook's, e.g. {differ[:10]}"


def expected_notebooks(name: str):
    for path in sorted((EXPECTED / name).rglob("*.json")):
        tab = path.relative_to(EXPECTED / name).parts[0]
        section = path.relative_to(EXPECTED / name / tab).with_suffix(".ipynb").as_posix()
        yield tab, section, json.loads(path.read_text(encoding="utf-8"))


def assert_notebooks_as_expected(name: str, root: Path) -> int:
    """Each expected notebook cell for cell (or absent); the number compared."""
    checked = 0
    for tab, section, expected in expected_notebooks(name):
        ours = root / "build" / "notebooks" / tab / section
        if expected is None:  # d2lbook makes no notebook for this section in this tab
            assert not ours.exists(), f"{tab}/{section}"
            continue
        assert cells(json.loads(ours.read_text(encoding="utf-8"))) == expected, f"{tab}/{section}"
        checked += 1
    return checked


@pytest.mark.book
@needs_real_books
def test_notebooks_of_tricky_sections_are_d2lbooks_cell_for_cell(real_book):
    name, root = real_book
    assert assert_notebooks_as_expected(name, root) >= 3


# --- the rules for tab blocks, on small books -----------------------------------------------------


RULE_WARNINGS = {
    "compat-unclosed": [
        "chapter_tabs/unclosed.md:6: warning: :begin_tab: is never closed: its block ends at the code cell at line 9; add :end_tab:",
        "chapter_tabs/unclosed.md:25: warning: :begin_tab: is never closed: its block ends at the code cell at line 33; add :end_tab:",
        "chapter_tabs/unclosed.md:40: warning: :end_tab: without a :begin_tab: before it (a code cell ends a tab block); ignored",
    ],
    "compat-nested": [
        "chapter_tabs/empty.md:14: warning: :begin_tab: inside the tab block opened at line 12; a new block starts here",
        "chapter_tabs/nested.md:13: warning: :begin_tab: inside the tab block opened at line 11; a new block starts here",
        "chapter_tabs/nested.md:17: warning: :end_tab: without a :begin_tab: before it (a code cell ends a tab block); ignored",
    ],
    "compat-hidden": [],
    "compat-marks": [
        "chapter_marks/marks.md:6: warning: a tab mark below the first line chooses the cell's tabs, as in d2lbook; move it to the first line",
        "chapter_marks/marks.md:12: warning: a tab mark below the first line chooses the cell's tabs, as in d2lbook; move it to the first line",
        "chapter_marks/marks.md:19: warning: a second tab mark is dropped (d2lbook ignores it); split the cell instead",
        "chapter_marks/marks.md:25: warning: a tab mark below the first line chooses the cell's tabs, as in d2lbook; move it to the first line",
        "chapter_marks/marks.md:32: warning: a tab mark below the first line chooses the cell's tabs, as in d2lbook; move it to the first line",
    ],
}


@pytest.fixture(params=sorted(RULE_WARNINGS))
def rule_book(request, tmp_path) -> tuple[str, Path, str]:
    name = request.param
    root, warnings = build_copy(BOOKS / name, tmp_path)
    return name, root, warnings


def test_rule_books_build_as_d2lbook_builds_them(rule_book):
    name, root, warnings = rule_book
    for library in sorted((BOOKS / name / "d2l").glob("*.py")):
        assert (root / "d2l" / library.name).read_bytes() == library.read_bytes(), library.name
    expected = {(tab, section) for tab, section, notebook in expected_notebooks(name) if notebook is not None}
    assert set(made_notebooks(root)) == expected  # none missing, none extra
    assert assert_notebooks_as_expected(name, root) == len(expected)
    assert [line for line in warnings.splitlines() if ": warning: " in line] == RULE_WARNINGS[name]


def test_an_unclosed_tab_block_ends_at_a_code_cell_which_keeps_its_save(tmp_path):
    root, warnings = build_copy(BOOKS / "compat-unclosed", tmp_path)
    assert "def ones_like(x):" in (root / "d2l" / "torch.py").read_text()  # the code cell in the pytorch block
    assert "def only_tensorflow():" in (root / "d2l" / "tensorflow.py").read_text()
    pytorch = cells(json.loads((root / "build/notebooks/pytorch/chapter_tabs/unclosed.ipynb").read_text()))
    assert [kind for kind, _ in pytorch] == ["markdown", "markdown", "code", "markdown", "code", "markdown"]
    assert pytorch[3] == ["markdown", "Prose after the code cell: every tab's again.\n"]
    assert "chapter_tabs/unclosed.md:6: warning: :begin_tab: is never closed" in warnings


def test_a_tab_block_names_its_tab_for_notebooks_but_not_for_libraries(tmp_path):
    root, warnings = build_copy(BOOKS / "compat-nested", tmp_path)
    notebooks = root / "build" / "notebooks"
    assert (notebooks / "pytorch/chapter_tabs/nested.ipynb").exists() and (notebooks / "tensorflow/chapter_tabs/nested.ipynb").exists()
    assert not (notebooks / "pytorch/chapter_tabs/empty.ipynb").exists()  # a block with no line in it names no tab
    assert "def shared():" in (root / "d2l" / "mxnet.py").read_text()  # the default tab's: #@tab all is for it
    assert "def shared" not in (root / "d2l" / "torch.py").read_text()
    assert "def shared" not in (root / "d2l" / "tensorflow.py").read_text()
    assert "chapter_tabs/nested.md:13: warning: :begin_tab: inside the tab block opened at line 11" in warnings


def test_a_hidden_cell_keeps_its_mark_in_the_notebook_collapsed_and_none_in_the_library(tmp_path):
    root, _ = build_copy(BOOKS / "compat-hidden", tmp_path)
    for library in ("mxnet.py", "torch.py"):
        text = (root / "d2l" / library).read_text()
        assert "def plumbing():" in text and "@hide" not in text
    assert "def lone():" in (root / "d2l" / "torch.py").read_text()
    notebook = json.loads((root / "build/notebooks/pytorch/chapter_hidden/hidden.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert ["#@hide" in "".join(cell["source"]).split("\n") for cell in code] == [True, True, False]
    assert [cell["metadata"].get("jupyter") for cell in code] == [{"source_hidden": True}] * 2 + [None]
