"""Whole books through LaTeX (slow: run by `make test-slow`, which CI runs).

Our book's three PDFs against its website; the d2l-en and d2l-zh copies in ../shared (skipped without it).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import TESTS
from test_pdf import ink, page_of, pdf_text

from d2lbuild.pdf import tex
from d2lbuild.pdf.build import build_pdf

pytestmark = pytest.mark.slow

REPO = TESTS.parents[1]
SHARED_BOOKS = REPO.parent / "shared" / "compat" / "books"
NUMBERS = re.compile(r"(?:Fig\.|Table|Section)\s+\d+(?:\.\d+)+|\(\d+\.\d+\.\d+\)")


def copy_book(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("build", ".git", "tools"))
    return target


@pytest.fixture(scope="module")
def our_book(tmp_path_factory) -> tuple[Path, object]:
    root = copy_book(REPO, tmp_path_factory.mktemp("ours") / "book")
    return root, build_pdf(root)


def test_our_book_each_pdf_has_its_own_code_only(our_book):
    root, report = our_book
    assert report.errors == []
    own = {"pytorch": "nn.Conv2d(", "tensorflow": "tf.keras.layers.Conv2D(", "mxnet": "nn.Conv2D("}
    for tab, mine in own.items():
        text = pdf_text(root / f"build/pdf/d2l-{tab}.pdf")
        assert mine in text, tab
        assert [theirs for other, theirs in own.items() if other != tab and theirs in text] == [], tab
        assert "Bibliography" in text


def test_our_book_numbers_match_the_website(our_book):
    """Every figure, table, section and equation number the website shows, one of the PDFs shows too.

    The website shows every framework's prose, a PDF its own: the three together are compared.
    """
    root, _ = our_book
    from d2lbuild.html.build import build_html

    build_html(root)
    html = " ".join(re.sub(r"<[^>]+>", " ", page.read_text()) for page in (root / "build/html/chapters").rglob("*.html"))
    pdf = " ".join(pdf_text(root / f"build/pdf/d2l-{tab}.pdf") for tab in ("pytorch", "tensorflow", "mxnet"))
    website = set(NUMBERS.findall(html.replace("\xa0", " ")))
    assert len(website) > 20
    assert sorted(website - set(NUMBERS.findall(" ".join(pdf.split())))) == []


def test_our_book_pages_with_code_figure_and_math_are_drawn(our_book):
    root, _ = our_book
    pdf = root / "build/pdf/d2l-pytorch.pdf"
    for needle, name in (("def corr2d(", "code"), ("kernel slides over a", "figure"), ("The softmax function does this", "math")):
        assert ink(pdf, page_of(pdf, needle), f"ours-{name}") > 0.005, name


@pytest.mark.skipif(not SHARED_BOOKS.is_dir(), reason="../shared/compat/books is not beside the repository")
def test_d2l_en_pytorch_pdf_unexecuted_with_placeholders(tmp_path):
    root = copy_book(SHARED_BOOKS / "d2l-en", tmp_path / "d2l-en")
    report = build_pdf(root, ("pytorch",))
    assert report.errors == []
    book = report.books[0]
    assert book.pdf == "build/pdf/d2l-en-pytorch.pdf" and book.pages > 150
    assert any(re.match(r"chapter_[^:]+\.md:\d+: warning: image \S+ not found", warning) for warning in book.warnings)
    text = pdf_text(root / book.pdf)
    assert "The PyTorch code of this book was not run" in " ".join(text[:2000].split())
    assert "nn.LazyConv2d(" in text and "from d2l import torch as d2l" in text
    assert [other for other in ("mxnet", "tensorflow", "jax") if f"from d2l import {other} as d2l" in text] == []
    contents = pdf_text(root / book.pdf, 1, 8).split("\n")
    assert "Preface" in contents and "Installation" in contents and "1 Introduction" in contents  # as on the website


@pytest.mark.skipif(not SHARED_BOOKS.is_dir(), reason="../shared/compat/books is not beside the repository")
@pytest.mark.skipif(tex.missing_tex(cjk=True) is not None, reason="xeCJK not installed (texlive-lang-chinese)")
def test_d2l_zh_chinese_text_has_every_glyph(tmp_path):
    root = copy_book(SHARED_BOOKS / "d2l-zh", tmp_path / "d2l-zh")
    report = build_pdf(root, ("pytorch",))
    assert report.errors == []
    assert [warning for warning in report.books[0].warnings if "no glyph" in warning] == []
    log = (root / "build/pdf/pytorch/latex/d2l-zh-pytorch.log").read_text(errors="replace")
    assert "Missing character" not in log
    text = pdf_text(root / report.books[0].pdf, 1, 40)
    assert "动手学深度学习" in text and "深度学习" in text
