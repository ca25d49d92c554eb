"""Chapters written as Jupyter notebooks or as jupytext percent scripts."""

from __future__ import annotations

import json

import nbformat
from conftest import run, write_book


def test_ipynb_chapter_positions_name_the_cell(tmp_path):
    root = write_book(tmp_path / "b", {"index.md": "# B\n\n```toc\nnb\n```\n"})
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# NB\n:label:`sec_nb`\n:begin_tab:`pytorch`\nTorch words.\n:end_tab:"),
        nbformat.v4.new_markdown_cell("As d2lbook does, the label is looked for above the cell just above the code."),
        nbformat.v4.new_code_cell("#@tab all\n\ndef f():  #@save\n    return 1"),
        nbformat.v4.new_code_cell("#@tab pytorch\nx = (\n"),
    ]
    nbformat.write(notebook, root / "nb.ipynb")
    result = run(root, "extract")
    assert result.exit_code == 0
    assert 'Defined in :numref:`sec_nb`' in (root / "d2l/torch.py").read_text()
    index = json.loads((root / "build/library/pytorch.json").read_text())["data"]
    assert (index["definitions"][0]["cell"], index["definitions"][0]["line"]) == (3, 3)
    notebook.cells[3].source = "#@tab pytorch\nx = 1  #@save\ny = (\n"
    nbformat.write(notebook, root / "nb.ipynb")
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("nb.ipynb:cell4:"), result.stderr


def test_ipynb_outputs_are_reported_by_check(tmp_path):
    root = write_book(tmp_path / "b", {"index.md": "# B\n\n```toc\nnb\n```\n"})
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("#@tab all\nprint(1)")
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    notebook.cells = [cell]
    nbformat.write(notebook, root / "nb.ipynb")
    result = run(root, "check")
    assert result.exit_code == 1 and "nb.ipynb:cell1:2: outputs are committed" in result.stderr


def test_percent_script_chapter_positions_are_script_lines(tmp_path):
    script = "# %% [markdown]\n# # Script\n# :label:`sec_py`\n\n# %%\n#@tab all\ndef g():  #@save\n    return 2\n\n# %%\n#@tab pytorch\nz = 3\n"
    root = write_book(tmp_path / "b", {"index.md": "# B\n\n```toc\nscript.py\n```\n", "script.py": script})
    assert run(root, "extract").exit_code == 0
    index = json.loads((root / "build/library/pytorch.json").read_text())["data"]
    assert index["definitions"][0]["path"] == "script.py" and index["definitions"][0]["line"] == 7
    assert "def g():" in (root / "d2l/mxnet.py").read_text()
