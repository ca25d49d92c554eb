"""A real chapter of the German edition, built unchanged with tabs = mxnet, pytorch, tensorflow.

The chapter is a copy of the shared fixture kept with the tests, so that this runs on a fresh clone.
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import FIXTURES, TESTS, run, write_book

PREFACE = TESTS / "data" / "preface_de.md"


def test_the_copy_is_the_shared_fixture():
    shared = FIXTURES / "preface_de.md"
    if not shared.is_file():
        pytest.skip("../shared/fixtures is not beside the repository")
    assert PREFACE.read_bytes() == shared.read_bytes()


@pytest.fixture
def german(tmp_path):
    root = write_book(tmp_path / "de", {"index.md": "# Buch\n\n```toc\n:maxdepth: 2\n\nchapter_preface/index\n```\n"})
    (root / "chapter_preface").mkdir()
    shutil.copy(PREFACE, root / "chapter_preface/index.md")
    assert run(root, "extract").exit_code == 0
    assert run(root, "notebooks").exit_code == 0
    return root


def test_tab_all_save_lands_in_every_library(german):
    for name in ("mxnet", "torch", "tensorflow"):
        text = (german / f"d2l/{name}.py").read_text()
        assert "import collections\nimport hashlib\n" in text and "from collections import defaultdict\n" in text
        assert "d2l = sys.modules[__name__]\n" in text and "import hashlib\n" in text


def test_unmarked_cell_lands_only_in_the_default_tab(german):
    line = "from mxnet import autograd, context, gluon, image, init, np, npx"
    assert line in (german / "d2l/mxnet.py").read_text()
    assert line not in (german / "d2l/torch.py").read_text()
    assert line not in (german / "d2l/tensorflow.py").read_text()
    assert "import torchvision" in (german / "d2l/torch.py").read_text()
    assert "import tensorflow as tf" in (german / "d2l/tensorflow.py").read_text()


@pytest.mark.parametrize("tab", ["mxnet", "pytorch", "tensorflow"])
def test_tab_prose_only_in_that_tabs_notebook(german, tab):
    notebook = json.loads((german / f"build/notebooks/{tab}/chapter_preface/index.ipynb").read_text())
    text = "".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    names = {"mxnet": "Apache MXNet", "pytorch": "basiert auf PyTorch", "tensorflow": "basiert auf TensorFlow"}
    for other, phrase in names.items():
        assert (phrase in text) == (other == tab)
    assert ":begin_tab:" not in text and ":end_tab:" not in text
    assert "Zielgruppe" in text and "Danksagungen" in text


def test_code_cells_name_their_chapter_lines(german):
    notebook = json.loads((german / "build/notebooks/pytorch/chapter_preface/index.ipynb").read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert [cell["metadata"]["d2lbuild"]["line"] for cell in code] == [62, 114]
    assert code[0]["source"][0] == "#@save\n"


def test_check_accepts_the_chapter(german):
    assert run(german, "check").exit_code == 0
