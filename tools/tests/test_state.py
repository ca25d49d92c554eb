"""The incremental state of extract and notebooks: content digests, never timestamps alone."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from conftest import run

from d2lbuild import aliases, formatting, pipeline
from d2lbuild import book as book_module

SECTION = """\
# Section

```{.python .input}
#@tab mxnet, pytorch, tensorflow
def one():  #@save
    return 1
```
"""


def test_same_size_edit_with_restored_mtime_is_seen(book):
    root = book({"a.md": SECTION})
    assert run(root, "extract").exit_code == 0
    assert run(root, "notebooks").exit_code == 0
    stat = (root / "a.md").stat()
    (root / "a.md").write_text(SECTION.replace("return 1", "return 7"))  # same size
    os.utime(root / "a.md", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p, rsync -t or tar do
    result = run(root, "extract")
    assert "(unchanged)" not in result.stdout
    assert "return 7" in (root / "d2l/torch.py").read_text()
    result = run(root, "notebooks")
    assert "up to date" not in result.stdout
    assert "return 7" in (root / "build/notebooks/pytorch/a.ipynb").read_text()


def test_an_edit_saved_while_extract_runs_is_not_called_up_to_date(book, monkeypatch):
    root = book({"a.md": SECTION})
    original = pipeline.load_book

    def read_then_edit(config, wanted=None):
        loaded = original(config, wanted)
        (root / "a.md").write_text(SECTION.replace("return 1", "return 2"))  # saved after extract read it
        return loaded

    monkeypatch.setattr(pipeline, "load_book", read_then_edit)
    run(root, "extract")
    assert "return 1" in (root / "d2l/torch.py").read_text()
    monkeypatch.setattr(pipeline, "load_book", original)
    result = run(root, "extract")
    assert "(unchanged)" not in result.stdout
    assert "return 2" in (root / "d2l/torch.py").read_text()
    assert "(unchanged)" in run(root, "extract").stdout


def test_an_edited_output_is_rewritten(book):
    root = book({"a.md": SECTION})
    run(root, "extract")
    text = (root / "d2l/torch.py").read_text()
    (root / "d2l/torch.py").write_text(text.replace("return 1", "return 5"))
    run(root, "extract")
    assert (root / "d2l/torch.py").read_text() == text


def test_a_state_file_of_the_wrong_shape_is_discarded_with_a_warning(book):
    root = book({"a.md": SECTION})
    run(root, "extract")
    run(root, "notebooks")
    for path in (root / "build/.d2lbuild").glob("*.json"):
        path.write_text(json.dumps({"kind": "other", "version": 1, "data": {"tool": 1, "inputs": []}}))
    (root / "a.md").write_text(SECTION.replace("return 1", "return 3"))
    result = run(root, "extract")
    assert result.exit_code == 0
    assert "build/.d2lbuild/extract-mxnet-pytorch-tensorflow.json: warning: not a state file d2lbuild wrote" in result.stderr
    assert "return 3" in (root / "d2l/torch.py").read_text()
    again = run(root, "extract")
    assert "(unchanged)" in again.stdout and "not a state file" not in again.stderr  # said once, not replayed
    (root / "build/.d2lbuild/notebooks-mxnet-pytorch-tensorflow.json").write_text("[1, 2]")
    result = run(root, "notebooks")
    assert result.exit_code == 0 and "warning: not a state file" in result.stderr
    again = run(root, "notebooks")
    assert "up to date" in again.stdout and "not a state file" not in again.stderr


def test_config_warnings_are_said_once_when_nothing_changed(book):
    root = book({"a.md": SECTION})
    config = root / "config.ini"
    config.write_text(config.read_text() + "\n[library-jax]\nlib_file = d2l/jax.py\n")
    first, second = run(root, "extract"), run(root, "extract")
    assert "(unchanged)" in second.stdout
    for result in (first, second):
        assert result.stderr.count("names no tab of [build] tabs") == 1, result.stderr


def test_notebooks_write_nothing_when_one_tab_fails(book):
    bad = "# B\n\n```{.python .input}\n#@tab tensorflow\nx = (  #@save\n```\n"
    root = book({"a.md": SECTION, "b.md": bad})
    result = run(root, "notebooks")
    assert result.exit_code == 1 and result.stderr.startswith("b.md:")
    assert not (root / "build/notebooks").exists()


def _outputs(root) -> dict[str, bytes]:
    folders = [root / "d2l", root / "build/notebooks"]
    return {p.relative_to(root).as_posix(): p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def test_results_kept_from_the_last_run_equal_a_clean_build(book, tmp_path, monkeypatch):
    other = SECTION.replace("one", "two").replace("# Section", "# Other\n:label:`sec_other`")
    root = book({"a.md": SECTION, "b.md": other})
    assert run(root, "build").exit_code == 0
    (root / "b.md").write_text(other.replace("return 1", "return 2  #@save"))  # a sloppy mark: a warning kept too
    (root / "build/notebooks/mxnet/a.ipynb").write_text("{}")  # an output spoiled by hand is made again
    made: list[tuple[str, str]] = []
    for name in ("saved_blocks", "notebook_for"):
        original = getattr(pipeline, name)
        monkeypatch.setattr(pipeline, name, lambda *args, _f=original, _n=name: made.append((_n, args[0] if _n == "notebook_for" else args[0].path)) or _f(*args))
    edited = run(root, "build")
    assert sorted(set(made)) == [("notebook_for", "a.md"), ("notebook_for", "b.md"), ("saved_blocks", "b.md")]
    assert made.count(("notebook_for", "a.md")) == 1  # only the spoiled one
    monkeypatch.undo()
    clean = tmp_path / "clean"
    clean.mkdir()
    for name in ("a.md", "b.md", "index.md", "config.ini"):
        (clean / name).write_bytes((root / name).read_bytes())
    fresh = run(clean, "build")
    assert _outputs(root) == _outputs(clean)
    assert edited.stderr == fresh.stderr


def test_a_config_edit_remakes_the_notebooks_it_changes(book):
    root = book({"a.md": SECTION + "\n```{.python .input}\n#@tab pytorch\nx = d2l.ones(3)\n```\n"})
    run(root, "build")
    (root / "config.ini").write_text((root / "config.ini").read_text() + "\n[library-pytorch]\nsimple_alias = ones\n")
    result = run(root, "build")
    assert "wrote build/notebooks/pytorch/a.ipynb" in result.stdout
    assert "torch.ones(3)" in (root / "build/notebooks/pytorch/a.ipynb").read_text()


PYTORCH_ONLY = """\
# Only PyTorch

:begin_tab:`mxnet`
:begin_tab:`pytorch`
A nested tab block (a warning).
:end_tab:

```{.python .input}
#@tab pytorch
def two():  #@save
    return 2
```
"""


@pytest.fixture
def chapters_read(monkeypatch) -> list[str]:
    """The chapters whose cells are read (not only skimmed) from now on, in order."""
    read: list[str] = []
    original = book_module.read_document

    def counting(root, relpath, tabs, wanted=None):
        document = original(root, relpath, tabs, wanted)
        if not document.skimmed:
            read.append(relpath)
        return document

    monkeypatch.setattr(book_module, "read_document", counting)
    return read


def test_extract_reads_again_only_the_chapters_whose_bytes_changed(book, chapters_read):
    """What each chapter gives the libraries (blocks, tabs it exists in, its warnings) is kept by content:
    a new extract reads only the toc files and the edited chapter, and says and writes what a clean run does."""
    root = book({"a.md": SECTION, "b.md": PYTORCH_ONLY, "c.md": "# Prose only\n"})
    first = run(root, "extract")
    libraries = {path.name: path.read_text() for path in (root / "d2l").glob("*.py")}
    assert "b.md:4: warning: :begin_tab: inside the tab block" in first.stderr
    chapters_read.clear()
    for state in (root / "build" / ".d2lbuild").glob("extract-*.json"):
        state.unlink()  # the libraries are built again, from what is kept
    again = run(root, "extract")
    assert chapters_read == ["index.md"]
    assert again.stderr == first.stderr
    assert {path.name: path.read_text() for path in (root / "d2l").glob("*.py")} == libraries
    (root / "b.md").write_text(PYTORCH_ONLY.replace("return 2", "return 3"))
    chapters_read.clear()
    edited = run(root, "extract")
    assert sorted(chapters_read) == ["b.md", "index.md"] and edited.stderr == first.stderr
    assert "return 3" in (root / "d2l" / "torch.py").read_text() and "def two" not in (root / "d2l" / "tensorflow.py").read_text()


def test_make_notebooks_reads_again_only_what_changed_and_writes_what_a_clean_run_writes(book, chapters_read, tmp_path):
    files = {"a.md": SECTION, "b.md": PYTORCH_ONLY, "c.md": "# Prose only\n"}
    root = book(files)
    first = run(root, "build")
    assert first.exit_code == 0
    chapters_read.clear()
    (root / "b.md").write_text(PYTORCH_ONLY.replace("return 2", "return 3"))
    (root / "build" / "notebooks" / "tensorflow" / "a.ipynb").unlink()  # a notebook lost: its chapter is read
    again = run(root, "build")
    assert sorted(chapters_read) == ["a.md", "b.md", "index.md"]
    assert again.stderr == first.stderr
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("build"))
    assert run(clean, "build").exit_code == 0
    for folder in ("d2l", "build/notebooks"):
        made = {p.relative_to(root / folder): p.read_bytes() for p in (root / folder).rglob("*") if p.is_file()}
        expected = {p.relative_to(clean / folder): p.read_bytes() for p in (clean / folder).rglob("*") if p.is_file()}
        assert made == expected, folder


ALIASED = SECTION + """
```{.python .input}
#@tab pytorch
x = d2l.numpy(d2l.ones(3))
```
"""
FLUENT = "\n[library-pytorch]\nsimple_alias = ones\nfluent_alias = numpy -> detach().numpy\n"


def _without_notebooks(root) -> None:
    shutil.rmtree(root / "build" / "notebooks")
    for state in (root / "build" / ".d2lbuild").glob("notebooks-*.json"):
        state.unlink()


def test_cells_with_rewritten_aliases_are_kept_by_content(book, monkeypatch):
    """A cell whose call aliases needed parsing is not parsed again by a later run, which writes the same notebook."""
    root = book({"a.md": ALIASED})
    (root / "config.ini").write_text((root / "config.ini").read_text() + FLUENT)
    assert run(root, "notebooks").exit_code == 0
    notebook = (root / "build/notebooks/pytorch/a.ipynb").read_bytes()
    assert b"torch.ones(3).detach().numpy()" in notebook
    parsed: list[str] = []
    original = aliases._rewritten_calls
    monkeypatch.setattr(aliases, "_rewritten_calls", lambda text, calls: parsed.append(text) or original(text, calls))
    _without_notebooks(root)
    assert run(root, "notebooks").exit_code == 0
    assert parsed == [] and (root / "build/notebooks/pytorch/a.ipynb").read_bytes() == notebook


def test_results_kept_by_another_d2lbuild_are_not_used(book, tmp_path, monkeypatch):
    """The parsed statements, rewritten cells and isort layouts of the store depend on d2lbuild's own code:
    after an upgrade, what the old code kept is computed again, and the outputs equal a clean build's."""
    root = book({"a.md": ALIASED})
    (root / "config.ini").write_text((root / "config.ini").read_text() + FLUENT)
    assert run(root, "build").exit_code == 0
    store = root / "build" / ".d2lbuild" / "formatted.json"
    stored = json.loads(store.read_text())
    data = stored["data"]
    assert data["parsed"] and data["texts"]
    data["parsed"] = {key: [] for key in data["parsed"]}  # what an older d2lbuild might have found
    data["texts"] = {key: "x = 'from another d2lbuild'" for key in data["texts"]}
    store.write_text(json.dumps(stored))
    for state in (root / "build" / ".d2lbuild").glob("*-*.json"):
        state.unlink()  # the states, and the store of saved blocks, which names the tool already
    shutil.rmtree(root / "build" / "notebooks")
    monkeypatch.setattr(formatting, "store_identity", lambda: "another d2lbuild")
    assert run(root, "build").exit_code == 0
    monkeypatch.undo()
    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("build"))
    assert run(clean, "build").exit_code == 0
    assert _outputs(root) == _outputs(clean)
    indexes = [{p.name: p.read_bytes() for p in (book / "build" / "library").glob("*.json")} for book in (root, clean)]
    assert indexes[0] == indexes[1]  # the names each library defines, found from the parsed statements
