"""Hidden cells (a ``#@hide`` line): the notebook keeps and runs them, the library never gets the mark, the page and
the PDF leave them out with their outputs. (What d2lbook makes of them is compared in test_compat.py's small book.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run

from d2lbuild.config import load_config
from d2lbuild.html.merge import Code, TabSet, merge
from d2lbuild.html.render import PageLinks, render_page
from d2lbuild.html.site import load_section
from d2lbuild.layout import edit_path, pdf_doctrees_dir, pdf_latex_dir, pdf_site_dir
from d2lbuild.pipeline import build_notebooks

CHAPTER = """\
# Title
:label:`sec_title`

Shared prose.

```{.python .input}
#@tab all
#@hide
import time  #@save


def plumbing():  #@save
    return time.time() > 0
```

Between the hidden cells.

```{.python .input}
#@tab pytorch
#@hide
print('hidden pytorch')
```

```{.python .input}
#@tab all
print('visible', plumbing())
```

The end.
"""


@pytest.fixture
def hidden_book(book) -> Path:
    root = book({"ch.md": CHAPTER}, tabs="pytorch, tensorflow")
    build_notebooks(root)
    return root


def notebook(root: Path, tab: str, folder: str = "build/notebooks") -> dict:
    return json.loads((root / folder / tab / "ch.ipynb").read_text())


def code_cells(nb: dict) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def test_the_notebook_keeps_the_cell_and_its_mark_collapsed_and_the_library_has_no_mark(hidden_book):
    cells = code_cells(notebook(hidden_book, "pytorch"))
    assert ["".join(cell["source"]).split("\n")[0] for cell in cells] == ["#@hide", "#@hide", "print('visible', plumbing())"]
    assert [cell["metadata"].get("jupyter") for cell in cells] == [{"source_hidden": True}, {"source_hidden": True}, None]
    assert run(hidden_book, "extract").exit_code == 0
    library = (hidden_book / "d2l" / "torch.py").read_text()
    assert "def plumbing():" in library and "@hide" not in library


def test_a_hide_line_inside_saved_code_is_left_out_of_the_library_with_a_warning(book):
    root = book({"ch.md": """\
        # Title

        ```{.python .input}
        #@tab all
        class Plumber:  #@save
            #@hide
            def run(self):
                return 2
        ```

        ```{.python .input}
        #@tab all
        y = 3  #@save
        #@hide
        z = 4
        ```
        """}, tabs="pytorch")
    result = run(root, "extract")
    assert result.exit_code == 0
    library = (root / "d2l" / "torch.py").read_text()
    assert "class Plumber:\n    def run(self):" in library and "y = 3\nz = 4\n" in library and "@hide" not in library
    warned = [line for line in result.stderr.splitlines() if "#@hide line is inside the saved code" in line]
    assert [line.split(": warning: ")[0] for line in warned] == ["ch.md:6", "ch.md:14"]


def test_the_page_leaves_hidden_cells_out_with_their_outputs(hidden_book):
    evaluated = notebook(hidden_book, "pytorch")
    for cell in code_cells(evaluated):
        text = "hidden output" if "#@hide" in "".join(cell["source"]) else "visible output"
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text + "\n"}]
    (hidden_book / "build/eval/pytorch").mkdir(parents=True)
    (hidden_book / "build/eval/pytorch/ch.ipynb").write_text(json.dumps(evaluated))
    page = merge(load_section(hidden_book, ("pytorch", "tensorflow"), "ch.md"))
    codes = [block for block in page.blocks if isinstance(block, Code)]
    assert [code.source for code in codes] == ["print('visible', plumbing())"]  # shared (no outputs in tensorflow aside)
    assert not any(isinstance(block, TabSet) for block in page.blocks)  # the pytorch-only hidden cell makes no tab set
    text = render_page(page, PageLinks(()), lambda ext, data: f"/_outputs/x.{ext}").text
    assert "Shared prose.\n\nBetween the hidden cells." in text and "The end." in text  # still two paragraphs
    assert "#@hide" not in text and "def plumbing" not in text and "hidden" not in text.replace("Between the hidden cells.", "")


def test_the_pdfs_latex_source_leaves_hidden_cells_out(hidden_book):
    pytest.importorskip("sphinx", reason="the html extra is not installed (pip install 'd2lbuild[html]')")
    from d2lbuild.pdf.latex_conf import tex_name
    from d2lbuild.pdf.pages import PdfSiteWriter
    from d2lbuild.pdf.settings import pdf_settings
    from d2lbuild.pdf.tex import run_latex_builder

    settings = pdf_settings(load_config(hidden_book))
    PdfSiteWriter(hidden_book, "pytorch", settings).write()
    out = hidden_book / pdf_latex_dir("pytorch")
    assert run_latex_builder(hidden_book / pdf_site_dir("pytorch"), out, hidden_book / pdf_doctrees_dir("pytorch"), 2) == []
    tex = (out / f"{tex_name(settings, 'pytorch')}.tex").read_text()
    assert "Between the hidden cells." in tex and "visible" in tex
    assert "plumbing():" not in tex and "hidden pytorch" not in tex and "@hide" not in tex


def test_edit_and_sync_keep_the_mark(hidden_book):
    assert run(hidden_book, "edit", "ch.md", "--tab", "pytorch").exit_code == 0
    path = hidden_book / edit_path("pytorch", "ch.md")
    edited = json.loads(path.read_text())
    cell = next(cell for cell in code_cells(edited) if "hidden pytorch" in "".join(cell["source"]))
    assert cell["metadata"]["jupyter"] == {"source_hidden": True}
    cell["source"] = "#@hide\nprint('hidden pytorch, edited')\n"
    path.write_text(json.dumps(edited))
    assert run(hidden_book, "sync").exit_code == 0
    chapter = (hidden_book / "ch.md").read_text()
    assert "#@tab pytorch\n#@hide\nprint('hidden pytorch, edited')\n```" in chapter
    assert chapter.replace(", edited", "") == CHAPTER
    assert run(hidden_book, "check").exit_code == 0
