"""The html stage's merge of every tab's notebooks into one page, and the MyST it writes (no Sphinx needed)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from conftest import BOOKS, write_book

from d2lbuild.errors import BuildError
from d2lbuild.html.markup import to_myst
from d2lbuild.html.merge import Code, Line, Prose, SectionNotebooks, TabSet, merge
from d2lbuild.html.outputs import render_outputs
from d2lbuild.html.render import PageLinks, render_page
from d2lbuild.html.site import load_section, write_site
from d2lbuild.pipeline import build_notebooks

TABS = ("pytorch", "tensorflow", "mxnet")


def page_of(book, text: str, tabs: str = "pytorch, tensorflow, mxnet"):
    root = book({"sec.md": text}, tabs=tabs)
    build_notebooks(root)
    return merge(load_section(root, tuple(t.strip() for t in tabs.split(",")), "sec.md"))


def rendered(page) -> str:
    return render_page(page, PageLinks(()), lambda ext, data: f"/_outputs/x.{ext}").text


def test_shared_code_once_and_tab_specific_code_as_one_tab_set(book):
    page = page_of(book, """\
        # Title

        Shared prose.

        ```{.python .input}
        #@tab pytorch
        import torch
        ```

        ```{.python .input}
        #@tab tensorflow
        import tensorflow as tf
        ```

        ```{.python .input}
        #@tab all
        print(1)
        ```

        ```{.python .input}
        #@tab mxnet
        from mxnet import np
        ```
        """)
    kinds = [type(block).__name__ for block in page.blocks]
    assert kinds == ["Prose", "TabSet", "Code", "TabSet"]
    tab_set = page.blocks[1]
    parts = dict(tab_set.parts)
    assert tab_set.kind == "code"
    assert [c.source for c in parts["pytorch"]] == ["import torch"]
    assert [c.source for c in parts["tensorflow"]] == ["import tensorflow as tf"]
    assert parts["mxnet"] == ()
    assert page.blocks[2].source == "print(1)"
    text = rendered(page)
    assert text.count("print(1)") == 1
    assert "Not available in MXNet." in text and "Not available in PyTorch." in text
    assert ":sync-group: framework" in text and ":sync: tensorflow" in text
    assert text.index("tab-item} PyTorch") < text.index("tab-item} TensorFlow") < text.index("tab-item} MXNet")


def test_tab_branches_of_one_cell_stay_one_part(book):
    page = page_of(book, """\
        # Title

        ```{.python .input}
        #@tab pytorch, tensorflow, mxnet
        if tab.selected('pytorch'):
            a = 1
        if tab.selected('tensorflow'):
            a = 2
        if tab.selected('mxnet'):
            a = 3
        ```
        """)
    (tab_set,) = page.blocks[1:]
    assert isinstance(tab_set, TabSet)
    assert {tab: [c.source for c in blocks] for tab, blocks in tab_set.parts} == {
        "pytorch": ["a = 1"], "tensorflow": ["a = 2"], "mxnet": ["a = 3"]}


def test_begin_tab_blocks_become_one_prose_tab_set(book):
    page = page_of(book, """\
        # Title

        Before.

        :begin_tab:`pytorch`
        Torch words.
        :end_tab:

        :begin_tab:`tensorflow, mxnet`
        Other words,
        two lines.
        :end_tab:

        After.
        """)
    before, tab_set, after = page.blocks
    assert isinstance(before, Prose) and isinstance(after, Prose)
    assert [line.text for line in after.lines if line.text] == ["After."]
    assert tab_set.kind == "prose"
    texts = {tab: [line.text for block in blocks for line in block.lines] for tab, blocks in tab_set.parts}
    assert texts == {"pytorch": ["Torch words."], "tensorflow": ["Other words,", "two lines."], "mxnet": ["Other words,", "two lines."]}
    assert after.lines[-1].number == 14  # the chapter line of "After."


def test_cells_align_by_chapter_line_when_one_tab_has_extra_cells(book):
    page = page_of(book, """\
        # Title

        ```{.python .input}
        #@tab pytorch, tensorflow, mxnet
        x = 1
        ```

        ```{.python .input}
        #@tab pytorch
        extra_one = 1
        ```

        ```{.python .input}
        #@tab pytorch
        extra_two = 2
        ```

        Middle prose.

        ```{.python .input}
        #@tab pytorch, tensorflow, mxnet
        y = 2
        ```
        """)
    kinds = [type(block).__name__ for block in page.blocks]
    assert kinds == ["Prose", "Code", "TabSet", "Prose", "Code"]
    parts = dict(page.blocks[2].parts)
    assert [c.source for c in parts["pytorch"]] == ["extra_one = 1", "extra_two = 2"]
    assert parts["tensorflow"] == parts["mxnet"] == ()
    assert page.blocks[4].source == "y = 2"


def test_a_section_without_a_notebook_in_a_tab_says_so_once(book):
    page = page_of(book, """\
        # Title

        ```{.python .input}
        #@tab pytorch
        a = 1
        ```
        """)
    assert page.tabs == ("pytorch",) and page.missing == ("tensorflow", "mxnet")
    text = rendered(page)
    assert text.count("no TensorFlow and MXNet version") == 1
    assert "tab-set" not in text  # the only tab's code is simply shown


def test_evaluated_notebooks_are_used_when_they_match_and_notes_say_which_were_not_run(book):
    root = book({"sec.md": "# T\n\n```{.python .input}\n#@tab pytorch, tensorflow\nprint(1)\n```\n"}, tabs="pytorch, tensorflow")
    build_notebooks(root)
    notebook = json.loads((root / "build/notebooks/pytorch/sec.ipynb").read_text())
    notebook["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    (root / "build/eval/pytorch").mkdir(parents=True)
    (root / "build/eval/pytorch/sec.ipynb").write_text(json.dumps(notebook))
    section = load_section(root, ("pytorch", "tensorflow"), "sec.md")
    assert section.executed == {"pytorch"}
    page = merge(section)
    assert page.not_run == ("tensorflow",)
    tab_set = page.blocks[1]  # same code, different outputs: one part per tab
    assert dict(tab_set.parts)["pytorch"][0].outputs[0]["text"] == "1\n"
    assert "The TensorFlow code of this section was not run" in rendered(page)
    (root / "sec.md").write_text("# T\n\n```{.python .input}\n#@tab pytorch, tensorflow\nprint(2)\n```\n")
    build_notebooks(root)  # the evaluated notebook is now stale: not used
    assert load_section(root, ("pytorch", "tensorflow"), "sec.md").executed == frozenset()


def test_every_output_type(tmp_path: Path):
    saved: dict[str, bytes] = {}

    def save(ext: str, data: bytes) -> str:
        saved[ext] = data
        return f"/_outputs/img.{ext}"

    png = base64.b64encode(b"\x89PNG fake").decode()
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]},
        {"output_type": "stream", "name": "stdout", "text": "c\n"},
        {"output_type": "stream", "name": "stderr", "text": "careful\n"},
        {"output_type": "execute_result", "data": {"text/plain": "tensor([1, 2])"}, "metadata": {}, "execution_count": 1},
        {"output_type": "display_data", "data": {"image/svg+xml": "<svg/>", "text/plain": "<Figure>"}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}, "metadata": {}},
        {"output_type": "execute_result", "data": {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "df"}, "metadata": {}},
        {"output_type": "execute_result", "data": {"text/latex": "$$x^2$$", "text/plain": "x**2"}, "metadata": {}},
        {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["\x1b[0;31mValueError\x1b[0m: bad"]},
    ]
    text = render_outputs(outputs, save)
    assert "a\nb\nc" in text  # consecutive stdout joined
    assert ":class: output stream stderr\n\ncareful" in text
    assert "tensor([1, 2])" in text
    assert "```{image} /_outputs/img.svg" in text and "```{image} /_outputs/img.png" in text
    assert saved == {"svg": b"<svg/>", "png": b"\x89PNG fake"}
    assert "```{raw} html\n<table>" in text
    assert "```{math}\nx^2\n```" in text
    assert ":class: output error\n\nValueError: bad" in text and "\x1b" not in text
    assert "<Figure>" not in text and "df" not in text  # the richest form wins


def test_every_role_and_mark():
    source = """\
# Title
:label:`sec_title`

See :numref:`sec_other`, :ref:`sec_other`, :eqref:`eq_a`, :cite:`A.1,B.2`, :citet:`A.1` and :citep:`B.2`.

![A figure.](../img/a.svg)
:width:`300px`
:height:`100px`
:label:`fig_a`

$$a = b$$
:eqlabel:`eq_a`

```toc
:maxdepth: 2

one
two
```

```eval_rst
.. note:: rst
```

```python
# :numref:`in_code` stays code
```

:bibliography:`../refs.bib`
"""
    lines = [Line(number, text) for number, text in enumerate(source.split("\n"), 1)]
    converted = to_myst(lines, numbered_toc=True)
    text = converted.text
    assert text.startswith("(sec_title)=\n# Title\n")
    assert "{numref}`sec_other`, {ref}`sec_other`, {eq}`eq_a`, {cite:p}`A.1,B.2`, {cite:t}`A.1` and {cite:p}`B.2`" in text
    assert "```{figure} ../img/a.svg\n:alt: A figure.\n:width: 300px\n:height: 100px\n:name: fig_a\n\nA figure.\n```" in text
    assert "$$a = b$$ (eq_a)" in text
    assert "```{toctree}\n:maxdepth: 2\n:numbered:\n\none\ntwo\n```" in text
    assert "```{eval-rst}\n.. note:: rst\n```" in text
    assert "# :numref:`in_code` stays code" in text
    assert text.endswith("```{bibliography}\n```\n")
    outside_code = text.split("```python")[0]
    for mark in ("label", "numref", "ref", "eqref", "cite", "citet", "citep", "width", "height", "eqlabel"):
        assert f":{mark}:`" not in outside_code
    assert converted.labels == [("sec_title", 2), ("fig_a", 9)]
    assert converted.equations == [("eq_a", 12)]
    assert [(r.role, r.target, r.line) for r in converted.references][:3] == [("numref", "sec_other", 4), ("ref", "sec_other", 4), ("eqref", "eq_a", 4)]
    assert converted.images == [("../img/a.svg", 6)]
    assert "[A.1, B.2]" in to_myst(lines, citations=False).text


def test_slide_marks_leave_bold_text():
    lines = [Line(1, "(**To start,"), Line(2, "we import it.**) and [**a tensor**] but [**a link**](x.md)")]
    assert to_myst(lines).text == "**To start,\nwe import it.** and **a tensor** but [**a link**](x.md)"


def sample_book(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(BOOKS / "site", root)
    return root


def test_site_pages_follow_the_toc_and_only_changed_pages_are_rewritten(tmp_path: Path):
    root = sample_book(tmp_path)
    build_notebooks(root)
    first = write_site(root)
    assert first.pages == ["index.md", "chapter_start/index.md", "chapter_start/tensors.md", "chapter_start/plots.md"]
    assert first.warnings == []
    site = root / "build/site"
    assert (site / "img/pipeline.svg").is_file() and (site / "refs.bib").is_file()
    assert (site / "_extra/notebooks/tensorflow/chapter_start/tensors.ipynb").is_file()
    assert "../notebooks/tensorflow/chapter_start/tensors.ipynb" in (site / "chapter_start/tensors.md").read_text()
    assert write_site(root).written == []
    plots = root / "chapter_start/plots.md"
    plots.write_text(plots.read_text().replace("Plots show", "Plots display"))
    build_notebooks(root)
    assert sorted(write_site(root).written) == [
        "_extra/notebooks/mxnet/chapter_start/plots.ipynb",
        "_extra/notebooks/pytorch/chapter_start/plots.ipynb",
        "_extra/notebooks/tensorflow/chapter_start/plots.ipynb",
        "chapter_start/plots.md",
    ]
    plots.unlink()
    (root / "chapter_start/index.md").write_text((root / "chapter_start/index.md").read_text().replace("plots\n", ""))
    build_notebooks(root)
    assert "chapter_start/plots.md" in write_site(root).removed


def test_unresolved_references_are_warnings_at_the_chapter_line(tmp_path: Path):
    root = sample_book(tmp_path)
    plots = root / "chapter_start/plots.md"
    plots.write_text(plots.read_text() + "\nSee :numref:`sec_nowhere`, :eqref:`eq_nowhere` and :cite:`Nobody.1999`.\n")
    build_notebooks(root)
    warnings = write_site(root).warnings
    assert warnings == [
        "chapter_start/plots.md:21: warning: :numref:`sec_nowhere` names no label",
        "chapter_start/plots.md:21: warning: :eqref:`eq_nowhere` names no equation label",
        "chapter_start/plots.md:21: warning: :cite:`Nobody.1999`: no bibliography entry Nobody.1999",
    ]


def test_code_blocks_are_shared_once_with_equal_outputs():
    section = SectionNotebooks("s.md", ("a", "b"), {
        tab: {"cells": [{"cell_type": "code", "source": "x", "metadata": {"d2lbuild": {"line": 3}},
                         "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}]}]}
        for tab in ("a", "b")}, frozenset({"a", "b"}))
    page = merge(section)
    assert page.blocks == (Code(3, "x", ({"output_type": "stream", "name": "stdout", "text": "1"},)),)


def test_d2lbook_tables_captions_and_equations_in_paragraphs():
    source = """\
See :numref:`tab_x`.

:Numbers by decade
:label:`tab_x`

|a|b|
|-|-|
|1|2|

The theorem reads
$$\\int_0^x f = F(x)$$
:eqlabel:`eq_ftc`
and also
$$f(x) = 1$$ :eqlabel:`eq_one`

![A caption
over two lines.](../img/b.svg)
:label:`fig_b`
"""
    lines = [Line(number, text) for number, text in enumerate(source.split("\n"), 1)]
    converted = to_myst(lines)
    text = converted.text
    assert "```{table} Numbers by decade\n:name: tab_x\n\n|a|b|\n|-|-|\n|1|2|\n```" in text
    assert "The theorem reads\n\n$$\\int_0^x f = F(x)$$ (eq_ftc)\n\nand also" in text
    assert "\n\n$$f(x) = 1$$ (eq_one)\n" in text
    assert "```{figure} ../img/b.svg\n:alt: A caption over two lines.\n:name: fig_b\n\nA caption over two lines.\n```" in text
    assert converted.labels == [("tab_x", 4), ("fig_b", 18)]
    assert converted.equations == [("eq_ftc", 12), ("eq_one", 14)]


def test_a_table_labelled_after_its_rows_and_a_label_on_a_paragraph():
    source = """\
:Latency numbers.

|a|b|
|-|-|
:label:`tab_after`

Some paragraph.
:label:`para_x`
"""
    lines = [Line(number, text) for number, text in enumerate(source.split("\n"), 1)]
    converted = to_myst(lines)
    assert "```{table} Latency numbers.\n:name: tab_after\n\n|a|b|\n|-|-|\n```" in converted.text
    assert "(para_x)=\nSome paragraph." in converted.text
    assert converted.unnumbered == ["para_x"]


def test_cli_writes_the_site_and_reports_bad_notebooks_in_one_line(tmp_path: Path):
    from conftest import run

    root = sample_book(tmp_path)
    result = run(root, "html", "--site-only")
    assert result.exit_code == 0, result.output
    assert "site: 4 pages" in result.stdout
    assert (root / "build/site/chapter_start/plots.md").is_file() and not (root / "build/html").exists()
    broken = root / "build/eval/mxnet/chapter_start/plots.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    result = run(root, "html", "--site-only")
    assert result.exit_code == 1
    assert result.stderr.startswith("build/eval/mxnet/chapter_start/plots.ipynb: not a readable notebook")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unchanged_pages_come_from_the_cache_only_while_their_files_exist(tmp_path: Path):
    root = sample_book(tmp_path)
    build_notebooks(root)
    write_site(root)
    page = root / "build/site/chapter_start/plots.md"
    text = page.read_text()
    page.unlink()
    again = write_site(root)
    assert again.written == ["chapter_start/plots.md"] and page.read_text() == text
    assert again.warnings == [] and len(again.pages) == 4
    evaluated = root / "build/eval/tensorflow/chapter_start/plots.ipynb"
    notebook = json.loads((root / "build/notebooks/tensorflow/chapter_start/plots.ipynb").read_text())
    next(c for c in notebook["cells"] if c["cell_type"] == "code")["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
    evaluated.parent.mkdir(parents=True)
    evaluated.write_text(json.dumps(notebook))
    # the page and the notebook readers download, which keeps the outputs and names Jupyter's standard kernel
    assert write_site(root).written == ["_extra/notebooks/tensorflow/chapter_start/plots.ipynb", "chapter_start/plots.md"]
    assert "ran" in page.read_text()
    published = json.loads((root / "build/site/_extra/notebooks/tensorflow/chapter_start/plots.ipynb").read_text())
    assert next(c for c in published["cells"] if c["cell_type"] == "code")["outputs"][0]["text"] == "ran\n"
    assert published["metadata"]["kernelspec"]["name"] == "python3"


def test_a_missing_image_is_a_warning_and_a_placeholder_until_the_image_appears(tmp_path: Path):
    root = sample_book(tmp_path)
    (root / "chapter_start/plots.md").write_text(
        (root / "chapter_start/plots.md").read_text() + "\n![Not drawn yet.](../img/later.svg)\n\n![A photo.](../img/photo.jpg)\n")
    build_notebooks(root)
    report = write_site(root)
    assert report.warnings == ["chapter_start/plots.md:21: warning: image ../img/later.svg not found",
                               "chapter_start/plots.md:23: warning: image ../img/photo.jpg not found"]
    placeholder = root / "build/site/img/later.svg"
    assert placeholder.read_text().startswith("<svg") and "img/later.svg" in placeholder.read_text()
    assert (root / "build/site/img/photo.jpg").read_bytes().startswith(b"\x89PNG")  # browsers show it whatever its name
    assert write_site(root).written == []  # nothing changes between builds: Sphinx has nothing to re-read
    (root / "img/later.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    again = write_site(root)
    assert again.written == ["img/later.svg"] and placeholder.read_text() == "<svg xmlns='http://www.w3.org/2000/svg'/>"
    assert again.warnings == ["chapter_start/plots.md:23: warning: image ../img/photo.jpg not found"]


def test_each_page_line_knows_its_chapter_line(tmp_path: Path):
    root = sample_book(tmp_path)
    build_notebooks(root)
    report = write_site(root)
    chapter, numbers = report.sources["chapter_start/tensors.md"]
    page = (root / "build/site/chapter_start/tensors.md").read_text().split("\n")
    source = (root / chapter).read_text().split("\n")
    assert chapter == "chapter_start/tensors.md" and len(numbers) == len(page) - 1  # the text ends with a newline
    for wanted in ("Tensors hold numbers.", "The squared norm is", "TensorFlow also calls them tensors."):
        at = next(index for index, line in enumerate(page) if wanted in line)
        assert wanted in source[numbers[at] - 1]
    at = page.index("x = tf.range(4)")
    assert source[numbers[at] - 1] == "import tensorflow as tf"  # a code cell's lines: its first line
    assert write_site(root).sources == report.sources  # pages from the cache keep their line maps


def test_sphinx_warnings_become_chapter_lines():
    from d2lbuild.html.sphinx_build import chapter_warnings

    sources = {"a/b.md": ("a/b.md", [1, 1, 5, 6, 9]), "c.md": ("c.ipynb", [])}
    lines = [
        "build/site/a/b.md:4: WARNING: Unknown interpreted text role [myst.role_unknown]",
        "build/site/a/b.md:3: ERROR: Unknown directive type \"autoclass\".",
        "",
        ".. autoclass:: X",
        "build/site/a/b.md:99: CRITICAL: past the end",
        "build/site/c.md: WARNING: document isn't included in any toctree",
        "build/site/conf.py:1: WARNING: something in conf",
        "WARNING: no place at all",
    ]
    assert chapter_warnings(lines, sources) == [
        "a/b.md:6: warning: Unknown interpreted text role [myst.role_unknown]",
        'a/b.md:5: error: Unknown directive type "autoclass". .. autoclass:: X',
        "a/b.md:9: error: past the end",
        "c.ipynb:1: warning: document isn't included in any toctree",
        "build/site/conf.py:1: warning: something in conf",
        "warning: no place at all",
    ]


def test_a_heading_inside_a_tab_block_is_a_rubric_of_its_level(book):
    page = page_of(book, """\
        # Title

        :begin_tab:`pytorch`
        ## Installing PyTorch

        ```bash
        # not a heading
        pip install torch
        ```
        :end_tab:

        :begin_tab:`tensorflow`
        ### Installing TensorFlow ###
        :end_tab:

        ## A real section
        """)
    text = rendered(page)
    assert "```{rubric} Installing PyTorch\n:heading-level: 2\n```" in text
    assert "```{rubric} Installing TensorFlow\n:heading-level: 3\n```" in text
    assert "# not a heading\npip install torch" in text and "\n## A real section" in text


def with_front_page(root: Path) -> Path:
    """d2l-en's layout: the index reads static/frontpage/frontpage.html, which shows images next to it."""
    index = root / "index.md"
    index.write_text(index.read_text().replace("A two-section book", "```eval_rst\n.. raw:: html\n   :file: frontpage.html\n```\n\nA two-section book"))
    front = root / "static/frontpage"
    (front / "_images").mkdir(parents=True)
    (front / "frontpage.html").write_text('<div class="front"><img src="_images/eq.png"> <a href="chapter_start/index.html">Start</a></div>\n')
    (front / "_images/eq.png").write_bytes(b"\x89PNG not really")
    return root


def test_the_front_page_the_index_reads_is_copied_with_its_images(tmp_path: Path):
    root = with_front_page(sample_book(tmp_path))
    build_notebooks(root)
    report = write_site(root)
    assert report.warnings == []
    assert (root / "build/site/frontpage.html").read_text().startswith('<div class="front">')
    assert (root / "build/site/_extra/_images/eq.png").read_bytes() == b"\x89PNG not really"
    shutil.rmtree(root / "static")
    report = write_site(root)
    assert report.warnings == ["index.md:5: warning: file frontpage.html not found (looked next to the chapter and under static/)"]
    assert (root / "build/site/frontpage.html").read_text() == "<!-- frontpage.html not found -->\n"  # Sphinx reads a file
    assert not (root / "build/site/_extra/_images/eq.png").exists()


def test_files_served_as_they_are_are_copied_when_what_they_come_from_changed(tmp_path: Path):
    from d2lbuild.html.publish import sync_extra

    root = sample_book(tmp_path)
    build_notebooks(root)
    report = write_site(root)
    extra, out = root / "build/site/_extra", root / "build/html"
    stamps = {relpath.removeprefix("_extra/"): stamp for relpath, stamp in report.extra.items()}
    assert "notebooks/tensorflow/chapter_start/plots.ipynb" in stamps and "notebooks/pytorch/chapter_start/tensors.ipynb" in stamps
    assert sorted(sync_extra(extra, out, stamps)) == sorted(stamps)
    assert sync_extra(extra, out, stamps) == []
    (out / "notebooks/pytorch/chapter_start/plots.ipynb").unlink()
    assert sync_extra(extra, out, stamps) == ["notebooks/pytorch/chapter_start/plots.ipynb"]
    plots = root / "chapter_start/plots.md"
    plots.write_text(plots.read_text().replace("zebra", "zebu"))  # same size: only the digest tells
    build_notebooks(root)
    stamps = {relpath.removeprefix("_extra/"): stamp for relpath, stamp in write_site(root).extra.items()}
    copied = sync_extra(extra, out, stamps)
    assert "notebooks/pytorch/chapter_start/plots.ipynb" in copied and "notebooks/pytorch/chapter_start/tensors.ipynb" not in copied
    assert "zebu" in (out / "notebooks/pytorch/chapter_start/plots.ipynb").read_text()
    del stamps["notebooks/pytorch/chapter_start/plots.ipynb"]
    sync_extra(extra, out, stamps)
    assert not (out / "notebooks/pytorch/chapter_start/plots.ipynb").exists()


def test_mathjax_is_copied_once_and_its_absence_is_one_line(tmp_path: Path, monkeypatch):
    from importlib import metadata

    import pytest

    from d2lbuild.errors import BuildError
    from d2lbuild.html import publish

    source = tmp_path / "es5"
    (source / "input/tex/extensions").mkdir(parents=True)
    (source / "tex-mml-chtml.js").write_text("/* MathJax */")
    (source / "input/tex/extensions/ams.js").write_text("/* ams */")
    (source / "tex-svg.js").write_text("/* not needed */")
    out = tmp_path / "html"
    assert publish.install_mathjax(out, source)
    assert (out / "_static/mathjax/input/tex/extensions/ams.js").is_file() and not (out / "_static/mathjax/tex-svg.js").exists()
    assert not publish.install_mathjax(out, source)
    (out / "_static/mathjax/input/tex/extensions/ams.js").unlink()
    assert publish.install_mathjax(out, source)

    def absent(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(publish.metadata, "distribution", absent)
    with pytest.raises(BuildError, match="MathJax not found: pip install 'd2lbuild\\[html\\]'"):
        publish.mathjax_source()


def test_the_site_follows_the_order_notebooks_recorded_and_needs_it(tmp_path: Path):
    files = {"a.md": "# A\n\nText.\n", "b.md": "# B\n\nMore.\n", "index.md": "# Book\n\n```toc\nb\na\n```\n"}
    root = write_book(tmp_path / "book", files)
    with pytest.raises(BuildError, match="order.json: missing or unreadable; run d2lbuild notebooks first"):
        write_site(root)
    build_notebooks(root)
    (root / "index.md").write_text("# Book\n\n```toc\na\nb\n```\n")  # not read again: the recorded order holds
    assert write_site(root).pages == ["index.md", "b.md", "a.md"]
    build_notebooks(root)
    assert write_site(root).pages == ["index.md", "a.md", "b.md"]


def test_framework_specific_prose_and_code_in_a_row_make_one_tab_set(book):
    page = page_of(book, """\
        # Title

        ```{.python .input}
        #@tab pytorch
        import torch
        ```

        ```{.python .input}
        #@tab tensorflow
        import tensorflow as tf
        ```

        :begin_tab:`pytorch`
        Torch words.
        :end_tab:

        :begin_tab:`mxnet`
        MXNet words.
        :end_tab:

        Shared again.
        """)
    kinds = [type(block).__name__ for block in page.blocks]
    assert kinds == ["Prose", "TabSet", "Prose"]
    parts = dict(page.blocks[1].parts)
    assert page.blocks[1].kind == "code"
    assert [type(block).__name__ for block in parts["pytorch"]] == ["Code", "Prose"]
    assert [type(block).__name__ for block in parts["tensorflow"]] == ["Code"]
    assert [type(block).__name__ for block in parts["mxnet"]] == ["Prose"]
    assert "Not available" not in rendered(page)
