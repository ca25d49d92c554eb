"""One module decides where outputs live, and one table lists the chapter formats: the others ask them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from d2lbuild import formats, layout
from d2lbuild.book import check_chapter_collisions, resolve_entry
from d2lbuild.errors import BuildError, Position
from d2lbuild.source import read_document

PACKAGE = Path(__file__).resolve().parents[1] / "d2lbuild"
CHAPTERS = {
    ".md": "# Title\n\n```{.python .input}\nx = 1\n```\n",
    ".ipynb": '{"cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "source": ["x = 1"], "outputs": [], "execution_count": null}],'
    ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    ".py": "# %%\nx = 1\n",
}


def _sources(skip: str) -> list[tuple[str, str]]:
    return [(path.relative_to(PACKAGE).as_posix(), path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))
            if path.name not in (skip, "warm_template.py")]


def test_the_table_lists_every_format_the_reader_reads():
    assert set(CHAPTERS) == {chapter.extension for chapter in formats.CHAPTER_FORMATS}


@pytest.mark.parametrize("extension", list(CHAPTERS))
def test_each_format_is_found_by_a_toc_entry_read_by_its_reader_and_becomes_one_notebook(tmp_path: Path, extension: str):
    (tmp_path / f"sec{extension}").write_text(CHAPTERS[extension])
    assert resolve_entry(tmp_path, "", "sec", Position("index.md", 1)) == f"sec{extension}"
    document = read_document(tmp_path, f"sec{extension}", ("pytorch",))
    assert [cell.kind for cell in document.cells if cell.kind == "code"] == ["code"]
    assert layout.notebook_path("pytorch", f"ch/sec{extension}") == "build/notebooks/pytorch/ch/sec.ipynb"
    assert formats.is_markdown(f"sec{extension}") == (extension == ".md")


def test_a_file_of_no_chapter_format_is_no_chapter():
    assert formats.chapter_format("notes.txt") is None and formats.chapter_stem("notes.txt") == "notes.txt"


def test_two_formats_of_one_stem_collide():
    with pytest.raises(BuildError, match="both would become the notebook ch/a.ipynb"):
        check_chapter_collisions(["ch/a.md", "ch/a.py"])


def test_no_module_checks_a_chapter_suffix_by_itself():
    suffix_check = re.compile(r"""endswith\(\s*["']\.(md|ipynb|py)["']|md\|ipynb|ipynb\|md|\[\.\]md""")
    assert [name for name, text in _sources("formats.py") if suffix_check.search(text)] == []


def test_outputs_live_where_the_layout_says():
    assert layout.eval_cache_path("mxnet") == "build/eval/mxnet/cache.json"
    assert layout.failures_path("mxnet") == "build/eval/mxnet/failures.json"
    assert layout.report_path("mxnet") == "build/eval/mxnet/report.json"
    assert layout.result_path("mxnet", "build/notebooks/mxnet/ch/a.ipynb") == "build/eval/mxnet/ch/a.ipynb"
    assert layout.failed_copy_path("build/eval/mxnet/ch/a.ipynb") == "build/eval/mxnet/ch/a.failed.ipynb"
    assert layout.library_index_path("mxnet") == "build/library/mxnet.json"
    assert layout.edit_path("mxnet", "ch/a.md") == "build/edit/mxnet/ch/a.ipynb"
    assert layout.env_dir("mxnet") == "build/envs/mxnet" and layout.pdf_dir("mxnet") == "build/pdf/mxnet"


def test_no_module_spells_an_output_path_by_itself():
    spelled = re.compile(r"""(?<!["'])["']build/|BUILD_DIR\}/|/ ["'](eval|notebooks|library|envs|pdf|html|site)["']""")
    assert [name for name, text in _sources("layout.py") if spelled.search(text)] == []
