"""Benchmark ``d2lbuild pdf``: our book's three PDFs cold and after a one-section edit, d2l-en's PyTorch PDF cold.

Each step is the real command in a fresh process; CPU time includes Sphinx, latexmk, xelatex and xdvipdfmx.
The notebooks are written first and not counted ("cold" means nothing under build/pdf).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import D2L_EN, report, timed  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EDITED = "chapters/convolutions/pooling.md"


def copy_book(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("build", ".git", "tools"))
    return target


def our_book(folder: Path) -> None:
    root = copy_book(REPO, folder / "ours")
    timed(root, "build")
    rows = [("our book, 3 PDFs, cold", timed(root, "pdf"))]
    rows.append(("our book, 3 PDFs, nothing changed", timed(root, "pdf")))
    path = root / EDITED
    text = path.read_text()
    path.write_text(text.replace("\n\n", "\n\nA sentence added to time a one-section edit.\n\n", 1))
    for tab in ("pytorch", "tensorflow", "mxnet"):
        rows.append((f"our book, one section edited: {tab} PDF", timed(root, "pdf", "--tab", tab)))
    report(rows)


def d2l_en(folder: Path) -> None:
    if not D2L_EN.is_dir():
        print("d2l-en: skipped (../shared/compat/books/d2l-en is not there)")
        return
    root = copy_book(D2L_EN, folder / "d2l-en")
    timed(root, "build")
    report([("d2l-en, PyTorch PDF, unexecuted, cold", timed(root, "pdf", "--tab", "pytorch"))])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        our_book(Path(folder))
        d2l_en(Path(folder))


if __name__ == "__main__":
    main()
