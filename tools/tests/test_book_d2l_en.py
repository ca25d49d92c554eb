"""d2l-en, a real book written for d2lbook, evaluated by d2lbuild in its MXNet tab: a handful of data-free sections
chosen on the command line. Marked ``book``: it installs MXNet into the copy's environment, so it runs in CI
(``make test-books``) but not in the unit suite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import TESTS, run

D2L_EN = TESTS.parents[1].parent / "shared" / "compat" / "books" / "d2l-en"
SECTIONS = (
    "chapter_preliminaries/ndarray.md",
    "chapter_preliminaries/autograd.md",
    "chapter_preliminaries/calculus.md",
    "chapter_builders-guide/model-construction.md",
    "chapter_builders-guide/parameters.md",
)
# the stack d2l-en's MXNet tab was written for, as its installation chapter pins it (lighter bounds suffice)
REQUIREMENTS = "\n[eval-mxnet]\nrequirements =\n    mxnet==1.9.1\n    numpy<1.24\n    matplotlib<3.11\n    pandas<3\n"

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(not D2L_EN.is_dir(), reason="../shared/compat/books/d2l-en is not beside the repository"),
]


@pytest.fixture(scope="module")
def d2l_en(tmp_path_factory) -> Path:
    """A copy of d2l-en whose config.ini gains only the MXNet tab's requirements, evaluated once."""
    root = tmp_path_factory.mktemp("d2l-en") / "d2l-en"
    shutil.copytree(D2L_EN, root, ignore=shutil.ignore_patterns("build"))
    with open(root / "config.ini", "a", encoding="utf-8") as config:
        config.write(REQUIREMENTS)
    result = run(root, "eval", "--tab", "mxnet", "-j", "2", *SECTIONS)
    assert result.exit_code == 0, result.output
    return root


def executed(root: Path, chapter: str) -> dict:
    return json.loads((root / "build/eval/mxnet" / chapter.replace(".md", ".ipynb")).read_text())


def plain_outputs(notebook: dict) -> list[str]:
    found = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            found.append("".join(output.get("data", {}).get("text/plain", "") or output.get("text", "")))
    return found


def report(root: Path) -> dict[str, dict]:
    data = json.loads((root / "build/eval/mxnet/report.json").read_text())
    return {record["chapter"]: record for record in data["notebooks"]}


def test_the_selected_sections_pass_and_only_they_ran(d2l_en):
    lines = report(d2l_en)
    assert set(lines) == set(SECTIONS)
    assert {record["status"] for record in lines.values()} == {"ok"}
    assert not (d2l_en / "build/eval/mxnet/chapter_preliminaries/pandas.ipynb").exists()


def test_outputs_match_the_published_book(d2l_en):
    ndarray = plain_outputs(executed(d2l_en, "chapter_preliminaries/ndarray.md"))
    assert ndarray[:3] == ["array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11.])", "12", "(12,)"]
    assert "array([[ 0.,  1.,  2.,  3.],\n       [ 4.,  5.,  6.,  7.],\n       [ 8.,  9., 10., 11.]])" in ndarray
    parameters = plain_outputs(executed(d2l_en, "chapter_builders-guide/parameters.md"))
    assert parameters[0] == "(2, 1)"
    calculus = executed(d2l_en, "chapter_preliminaries/calculus.md")
    assert any("image/svg+xml" in out.get("data", {}) for cell in calculus["cells"] for out in cell.get("outputs", []))


def test_a_second_run_is_cached_and_a_selected_run_leaves_the_others_alone(d2l_en):
    again = run(d2l_en, "eval", "--tab", "mxnet", *SECTIONS)
    assert again.exit_code == 0 and f"{len(SECTIONS)} notebooks: 0 ran ok, {len(SECTIONS)} cached, 0 failed" in again.stdout
    others = {chapter: executed(d2l_en, chapter) for chapter in SECTIONS[1:]}
    before = report(d2l_en)
    one = run(d2l_en, "eval", "--tab", "mxnet", "--force", "chapter_preliminaries/ndarray*")
    assert one.exit_code == 0 and "1 notebooks: 1 ran ok" in one.stdout
    assert {chapter: executed(d2l_en, chapter) for chapter in SECTIONS[1:]} == others
    after = report(d2l_en)
    assert {chapter: after[chapter] for chapter in SECTIONS[1:]} == {chapter: before[chapter] for chapter in SECTIONS[1:]}
    cache = json.loads((d2l_en / "build/eval/mxnet/cache.json").read_text())["data"]
    assert set(cache) == set(SECTIONS)
