"""The PDF of each framework, built from the sample book by Sphinx's LaTeX builder and xelatex.

Skipped when the html extra (Sphinx) or TeX (Debian's texlive-xetex, latexmk, ...) is missing; `.ci/run`
installs them. Rendered pages go to build/test-artefacts/pdf/ for a person to look at.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import BOOKS, TESTS, run, write_book

pytest.importorskip("sphinx", reason="the html extra is not installed (pip install 'd2lbuild[html]')")

from d2lbuild.errors import BuildError  # noqa: E402
from d2lbuild.pdf import tex  # noqa: E402
from d2lbuild.pdf.build import build_pdf  # noqa: E402
from d2lbuild.pdf.pages import MAX_OUTPUT_LINES, cut, framed_png  # noqa: E402

if tex.missing_tex(cjk=False) or shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
    pytest.skip("TeX or poppler-utils not installed (.ci/run installs them)", allow_module_level=True)

ARTEFACTS = TESTS.parents[1] / "build" / "test-artefacts" / "pdf"


def red_png(size: int) -> bytes:
    """A red square PNG, as a plotting cell's output."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\0" + b"\xcc\x22\x22" * size) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = base64.b64encode(red_png(16)).decode()


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    pages = (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    return subprocess.run(["pdftotext", *pages, str(path), "-"], capture_output=True, text=True, check=True).stdout


def page_of(path: Path, needle: str) -> int:
    """The first page whose text holds ``needle``."""
    pages = pdf_text(path).split("\f")
    return next(number for number, text in enumerate(pages, 1) if needle in text)


def ink(path: Path, page: int, name: str) -> float:
    """The share of dark pixels of a page rendered by pdftoppm (kept as a PNG for people to look at)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(path), str(ARTEFACTS / name)],
                   check=True)
    gray = subprocess.run(["pdftoppm", "-r", "30", "-gray", "-singlefile", "-f", str(page), "-l", str(page), str(path)],
                          capture_output=True, check=True).stdout
    header, pixels = _pgm(gray)
    return sum(1 for value in pixels if value < 160) / max(1, len(pixels))


def _pgm(data: bytes) -> tuple[tuple[int, int], bytes]:
    fields, at = [], 0
    while len(fields) < 4:
        while data[at : at + 1].isspace():
            at += 1
        start = at
        while not data[at : at + 1].isspace():
            at += 1
        fields.append(data[start:at])
    width, height = int(fields[1]), int(fields[2])
    return (width, height), data[at + 1 : at + 1 + width * height]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("pdf") / "book"
    shutil.copytree(BOOKS / "site", root)
    (root / "chapter_start/tensors.md").write_text((root / "chapter_start/tensors.md").read_text() + "\n![Not drawn yet.](../img/absent.png)\n")
    from d2lbuild.pipeline import build_notebooks

    build_notebooks(root)  # an evaluated PyTorch notebook with a long output and a figure
    notebook = json.loads((root / "build/notebooks/pytorch/chapter_start/plots.ipynb").read_text())
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "".join(f"epoch {i}\n" for i in range(200))},
        {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Figure>"}, "metadata": {}},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/html": "<table><tr><td>html table</td></tr></table>", "text/plain": "plain table"}},
    ]
    evaluated = root / "build/eval/pytorch/chapter_start/plots.ipynb"
    evaluated.parent.mkdir(parents=True)
    evaluated.write_text(json.dumps(notebook))
    return root, build_pdf(root)


def test_each_pdf_holds_its_framework_only(sample):
    root, report = sample
    assert report.errors == []
    assert [book.tab for book in report.books] == ["pytorch", "tensorflow", "mxnet"]
    own = {"pytorch": ("torch.arange", "PyTorch calls them tensors."), "tensorflow": ("tf.range", "TensorFlow also calls them tensors."),
           "mxnet": ("np.arange",)}
    for tab in own:
        text = pdf_text(root / f"build/pdf/site-sample-{tab}.pdf")
        for mine in own[tab]:
            assert mine in text, (tab, mine)
        for other in own:
            if other != tab:
                for theirs in own[other]:
                    if theirs not in own[tab] and not (tab == "mxnet" and theirs == "torch.arange"):
                        assert theirs not in text, (tab, theirs)
        assert "Not available in" not in text and "Download notebook" not in text  # no tab widgets
        assert "Fig. 1.1.1" in text and "(1.1.1)" in text and "Section 1.2" in text  # the website's numbers
        assert "Smith" in text and "Bibliography" in text
    assert (root / "build/pdf/site-sample.pdf").read_bytes() == (root / "build/pdf/site-sample-pytorch.pdf").read_bytes()


def test_title_page_says_which_code_was_not_run(sample):
    root, _ = sample
    title = pdf_text(root / "build/pdf/site-sample-tensorflow.pdf", 1, 1)
    assert "Sample Book" in title and "TensorFlow" in title
    assert "The TensorFlow code of this book was not run" in " ".join(title.split())
    pytorch = " ".join(pdf_text(root / "build/pdf/site-sample-pytorch.pdf", 1, 1).split())
    assert "The PyTorch code of 1 of its 2 sections was not run" in pytorch


def test_outputs_are_printable_and_long_ones_cut(sample):
    root, _ = sample
    text = pdf_text(root / "build/pdf/site-sample-pytorch.pdf")
    assert "epoch 0" in text and f"epoch {MAX_OUTPUT_LINES - 1}" in text and "epoch 199" not in text
    assert f"[... {200 - MAX_OUTPUT_LINES} more lines cut]" in text
    assert "plain table" in text and "html table" not in text


def test_missing_image_is_a_placeholder_with_a_warning(sample):
    root, report = sample
    warnings = [warning for book in report.books for warning in book.warnings]
    line = (BOOKS / "site/chapter_start/tensors.md").read_text().count("\n") + 2
    assert f"chapter_start/tensors.md:{line}: warning: image ../img/absent.png not found" in warnings
    assert (root / "build/pdf/pytorch/site/img/absent.png").read_bytes() == framed_png(320, 80)  # a framed stand-in


def test_rendered_pages_are_not_blank(sample):
    root, _ = sample
    pdf = root / "build/pdf/site-sample-pytorch.pdf"
    for needle, name in (("torch.arange", "code"), ("Fig. 1.1.1: The pipeline", "figure"), ("(1.1.1)", "math")):
        assert ink(pdf, page_of(pdf, needle), f"sample-{name}") > 0.002, name


def test_nothing_changed_writes_no_page_and_keeps_the_pdf(sample):
    root, _ = sample
    pdf, tex_file = root / "build/pdf/site-sample-mxnet.pdf", root / "build/pdf/mxnet/latex/site-sample-mxnet.tex"
    before = pdf.stat().st_mtime_ns, tex_file.stat().st_mtime_ns
    report = build_pdf(root, ("mxnet",))
    assert report.errors == [] and report.books[0].written == 0
    assert (pdf.stat().st_mtime_ns, tex_file.stat().st_mtime_ns) == before  # neither Sphinx nor xelatex ran


def test_latex_error_is_reported_at_the_chapter_line(book):
    root = book({"intro.md": """\
        # Intro

        Fine text, then a number too long for a line: {digits}.

        $$x = \\undefinedmacro{1}$$

        A matrix that starts a line inside a display, ended with a full stop (as in d2l-zh):
        $$
        A =
        \\begin{bmatrix}
            1 & 2
        \\end{bmatrix}.
        $$

        A later display where a matrix ends a line:

        $$B = \\begin{bmatrix}
        1 \\\\
        \\end{bmatrix}
        + C.
        $$

        More text.

        ```{.python .input}
        x = 1
        ```
        """.replace("{digits}", "1234567890" * 12)}, tabs="pytorch")
    result = run(root, "pdf")
    assert result.exit_code == 1
    assert re.search(r"^intro\.md:3: warning: LaTeX: a line runs [\d.]+pt into the margin$", result.stderr, re.MULTILINE)
    errors = [line for line in result.stderr.splitlines() if ": LaTeX: " in line and ": warning: " not in line]
    assert errors == ["intro.md:5: LaTeX: Undefined control sequence."]
    assert (root / "build/pdf/pytorch/latex/book-pytorch.log").is_file()


def test_api_page_shows_this_frameworks_names_without_tab_labels(book):
    root = book({
        "intro.md": """\
            # Intro

            ```{.python .input}
            #@tab pytorch
            def trainer(x):  #@save
                \"\"\"Train with torch.\"\"\"
                return x
            ```

            ```{.python .input}
            #@tab mxnet
            def trainer(y):  #@save
                \"\"\"Train with gluon.\"\"\"
                return y
            ```
            """,
        "api.md": "# API\n\n```eval_rst\n.. autofunction:: trainer\n```\n",
    }, tabs="pytorch, mxnet")
    report = build_pdf(root, ("pytorch",))
    assert report.errors == []
    api = pdf_text(root / "build/pdf/book-pytorch.pdf").split("API")[-1]
    assert "d2l.torch.trainer(x)" in api and "Train with torch." in api
    assert "gluon" not in api and "mxnet" not in api and "PyTorch" not in api


def test_missing_tex_names_the_package(book, monkeypatch):
    root = book({"intro.md": "# Intro\n"}, tabs="pytorch")
    real = shutil.which
    monkeypatch.setattr(tex.shutil, "which", lambda name: None if name == "latexmk" else real(name))
    with pytest.raises(BuildError, match="install Debian's latexmk"):
        build_pdf(root)


def test_unused_pdf_keys_are_warned_once(book):
    config = "[project]\nname = b\n\n[build]\nindex = index\nnotebooks = **/*.md\ntabs = pytorch\n\n[pdf]\npost_latex = ./main.py\nstyle = cambridge\n"
    root = write_book(book({"intro.md": "# Intro\n"}, tabs="pytorch").parent / "other", {"intro.md": "# Intro\n"}, config=config)
    from d2lbuild.config import load_config
    from d2lbuild.pdf.settings import pdf_settings

    assert pdf_settings(load_config(root)).warnings == (
        "config.ini:10: warning: [pdf] post_latex is not used by d2lbuild pdf",
        "config.ini:11: warning: [pdf] style is not used by d2lbuild pdf",
    )


def test_cut_keeps_short_text_and_says_what_it_cut():
    assert cut("a\nb\n") == "a\nb\n"
    long = "".join(f"{i}\n" for i in range(MAX_OUTPUT_LINES + 5))
    assert cut(long).endswith("[... 5 more lines cut]\n")
    assert "characters cut]" in cut("x" * 5000)


def test_chapters_outside_a_numbered_toc_are_unnumbered():
    from d2lbuild.pdf.pages import number_chapters

    lines = [("# Book", 1), ("", 2), ("```{toctree}", 3), (":maxdepth: 1", 4), ("", 5), ("preface", 6), ("```", 7),
             ("```{toctree}", 8), (":numbered:", 9), ("", 10), ("intro", 11), ("```", 12)]
    texts = [text for text, _ in number_chapters(lines, numbered_by_default=False)]
    tocs = [index for index, text in enumerate(texts) if text == "```{toctree}"]
    assert [texts[index - 4 : index] for index in tocs] == [["```{raw} latex", "\\dtwolunnumbered", "```", ""],
                                                          ["```{raw} latex", "\\dtwolnumbered", "```", ""]]
    assert [text for text, _ in number_chapters(lines[:7], numbered_by_default=True)][2:4] == ["```{raw} latex", "\\dtwolnumbered"]
