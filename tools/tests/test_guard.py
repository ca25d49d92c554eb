"""No config.ini can make d2lbuild write or delete a file outside build/ and the library files."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from conftest import run, write_book
from conftest import snapshot as full_snapshot


def snapshot(root: Path) -> dict[str, bytes]:
    """The book's files outside build/, which d2lbuild may write."""
    return {path: data for path, data in full_snapshot(root).items() if not path.startswith("build/")}

SAVES = "# A\n\n```{.python .input}\ndef f():  #@save\n    return 1\n```\n"


def book_with(tmp_path: Path, library: str) -> Path:
    config = f"[build]\nindex = index\nnotebooks = **/*.md **/*.py\ntabs = pytorch\n\n{library}"
    root = write_book(tmp_path / "book", {"ch/a.md": SAVES, "ch/script.py": "# %%\nx = 1\n"}, config=config)
    (root / ".git").mkdir()
    (root / ".git/config").write_text("[core]\n")
    return root


@pytest.mark.parametrize(
    "library, line, message",
    [
        ("[library-pytorch]\nlib_file = ch/a.md\n", 7, "ch/a.md is not a Python file (.py)"),
        ("[library-pytorch]\nlib_file = config.ini\n", 7, "config.ini is not a Python file (.py)"),
        ("[library-pytorch]\nlib_file = .git/config\n", 7, ".git/config is not a Python file (.py)"),
        ("[library-pytorch]\nlib_file = .git/hooks.py\n", 7, ".git/hooks.py is inside .git/"),
        ("[library-pytorch]\nlib_file = build/x.py\n", 7, "build/x.py is inside build/"),
        ("[library-pytorch]\nlib_file = ch/script.py\n", 7, "ch/script.py is the chapter ch/script.py"),
        ("[library]\nversion_file = ch/a.md\n", 7, "[library] version_file: ch/a.md is not a Python file"),
        ("[library]\nversion_file = config.ini\n", 7, "[library] version_file: config.ini is not a Python file"),
        ("[library]\nversion_file = ch/script.py\n", 7, "[library] version_file: ch/script.py is the chapter"),
    ],
)
def test_a_library_file_naming_a_book_file_is_an_error_and_nothing_is_written(tmp_path, library, line, message):
    root = book_with(tmp_path, library)
    before = snapshot(root)
    for command in ("extract", "build", "notebooks", "eval"):
        result = run(root, command)
        assert result.exit_code == 1, (command, result.stdout, result.stderr)
        assert result.stderr.startswith(f"config.ini:{line}: ") and message in result.stderr and len(result.stderr.splitlines()) == 1
    assert snapshot(root) == before


def test_a_library_file_that_is_a_link_to_a_chapter_is_an_error(tmp_path):
    root = book_with(tmp_path, "[library-pytorch]\nlib_file = d2l/torch.py\n")
    (root / "d2l").mkdir()
    (root / "d2l/torch.py").symlink_to(root / "ch/script.py")
    before = snapshot(root)
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("config.ini:7: [library-pytorch] lib_file: d2l/torch.py is the chapter ch/script.py")
    assert snapshot(root) == before


@pytest.mark.parametrize("key", ["lib_file = lib/torch.py", "version_file = lib/__init__.py"])
def test_a_library_folder_that_is_a_link_leading_outside_is_an_error(tmp_path, key):
    outside = tmp_path / "outside"
    outside.mkdir()
    section = "[library-pytorch]" if key.startswith("lib_file") else "[library]"
    root = book_with(tmp_path, f"{section}\n{key}\n")
    (root / "lib").symlink_to(outside, target_is_directory=True)
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("config.ini:7: ") and "leads outside the book's root" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_link_inside_the_book_is_followed(tmp_path):
    root = book_with(tmp_path, "[library-pytorch]\nlib_file = lib/torch.py\n")
    (root / "real").mkdir()
    (root / "lib").symlink_to(root / "real", target_is_directory=True)
    result = run(root, "extract")
    assert result.exit_code == 0, result.stderr
    assert "def f():" in (root / "real/torch.py").read_text()


def test_init_files_are_written_only_in_a_library_files_own_folder(tmp_path):
    root = book_with(tmp_path, "[library-pytorch]\nlib_file = pkg/sub/torch.py\n")
    assert run(root, "extract").exit_code == 0
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "build" not in p.parts and ".git" not in p.parts)
    assert written == ["ch/a.md", "ch/script.py", "config.ini", "index.md", "pkg/sub/__init__.py", "pkg/sub/torch.py"]


@pytest.mark.parametrize("release", ["1'\"\\", "2.0 \"beta\"", "ünï"])
def test_any_release_writes_a_version_file_that_parses(tmp_path, release):
    root = book_with(tmp_path, f"[project]\nrelease = {release}\n\n[library]\nversion_file = d2l/__init__.py\n")
    assert run(root, "extract").exit_code == 0
    namespace: dict = {}
    exec(compile(ast.parse((root / "d2l/__init__.py").read_text()), "v", "exec"), namespace)
    assert namespace["__version__"] == release


def test_the_usual_release_is_written_as_d2lbook_does(tmp_path):
    root = book_with(tmp_path, "[project]\nrelease = 0.1.0\n\n[library]\nversion_file = d2l/__init__.py\n")
    assert run(root, "extract").exit_code == 0
    assert (root / "d2l/__init__.py").read_text() == '__version__ = "0.1.0"\n'


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_a_build_folder_entry_that_leads_outside_is_never_deleted(tmp_path):
    """Results of deleted chapters are removed under build/eval, never through a link leading elsewhere."""
    outside = tmp_path / "outside"
    (outside / "ch").mkdir(parents=True)
    (outside / "ch/b.ipynb").write_text("precious")
    config = "[build]\nindex = index\nnotebooks = ch/*.md\ntabs = pytorch\n"
    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n\n```{.python .input}\nx = 1\n```\n"}, config=config)
    (root / "build/eval").mkdir(parents=True)
    (root / "build/eval/pytorch").symlink_to(outside, target_is_directory=True)
    (outside / "cache.json").write_text('{"ch/b.md": {"key": "k", "seconds": 1.0}}')
    result = run(root, "eval")
    assert (outside / "ch/b.ipynb").read_text() == "precious"
    assert result.exit_code == 1 and "build/eval/pytorch" in result.stderr and "outside" in result.stderr
