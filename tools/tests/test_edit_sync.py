"""``d2lbuild edit`` and ``sync``: a chapter edited as one framework's notebook is written back by the rules."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest
from conftest import TESTS, run

from d2lbuild.book import notebook_files
from d2lbuild.config import load_config
from d2lbuild.edit import cell_lines, export, export_cells, read_chapter, source_text
from d2lbuild.layout import edit_path
from d2lbuild.notebook import dumps
from d2lbuild.sync import sync, sync_chapter
from d2lbuild.transforms import in_tab

REPO = TESTS.parents[1]
D2L_EN = REPO.parent / "shared" / "compat" / "books" / "d2l-en"

CHAPTER = """\
# Title

Shared prose.

```{.python .input}
#@tab all
x = 1  #@save
if tab.selected('pytorch'):
    y = 2
else:
    y = 3
```

```{.python .input}
#@tab pytorch
import torch
z = torch.ones(2)
```

```{.python .input}
%%tab tensorflow, mxnet
w = 4
```

:begin_tab:`pytorch`
PyTorch prose.
:end_tab:

More shared prose.
"""


@pytest.fixture
def chapter_book(book) -> Path:
    return book({"ch.md": CHAPTER})


def exported(root: Path, tab: str, chapter: str = "ch.md") -> dict:
    result = run(root, "edit", chapter, "--tab", tab)
    assert result.exit_code == 0, result.output
    return json.loads((root / edit_path(tab, chapter)).read_text())


def save(root: Path, tab: str, notebook: dict, chapter: str = "ch.md") -> None:
    (root / edit_path(tab, chapter)).write_text(json.dumps(notebook, indent=1))


def cell(notebook: dict, text: str) -> dict:
    """The cell whose source holds ``text``."""
    return next(c for c in notebook["cells"] if text in source_text(c))


def views(root: Path, chapter: str = "ch.md") -> dict[str, list[tuple[str, str]]]:
    """Every tab's notebook of the chapter, as (kind, text) per cell."""
    config = load_config(root)
    read = read_chapter(config, chapter)
    return {tab: [(item.cell["cell_type"], source_text(item.cell)) for item in export_cells(config, read, tab)] for tab in config.tabs}


def new_code(text: str, id_: str = "added") -> dict:
    return {"cell_type": "code", "id": id_, "metadata": {}, "source": text, "outputs": [], "execution_count": None}


# --- round trips ---------------------------------------------------------------------------------


def round_trip(root: Path) -> int:
    """Export every chapter in every tab, through JSON, and sync it back: nothing may change."""
    config = load_config(root)
    count = 0
    for relpath in notebook_files(config):
        if not relpath.endswith(".md"):
            continue
        chapter = read_chapter(config, relpath)
        for tab in config.tabs:
            if not in_tab(chapter.document, tab, config.default_tab):
                continue
            notebook = json.loads(dumps(export(config, chapter, tab)))
            result, original, text = sync_chapter(config, relpath, {tab: notebook})
            assert text == original, f"{relpath} in {tab}"
            assert (result.changed_cells, result.notes, result.conflicts) == (0, [], []), f"{relpath} in {tab}"
            count += 1
    return count


def test_round_trip_leaves_our_book_unchanged():
    assert round_trip(REPO) > 30


@pytest.mark.skipif(not D2L_EN.is_dir(), reason="../shared/compat/books/d2l-en is not beside the repository")
def test_round_trip_leaves_d2l_en_unchanged(tmp_path: Path):
    copy = tmp_path / "d2l-en"
    shutil.copytree(D2L_EN, copy)
    assert round_trip(copy) > 600


def test_a_tab_mark_below_the_first_line_survives_the_round_trip_and_an_edit(tmp_path: Path):
    root = tmp_path / "marks"
    shutil.copytree(TESTS / "books" / "compat-marks", root)
    chapter = "chapter_marks/marks.md"
    assert round_trip(root) == 6  # the index and the chapter, in each of the three tabs, unchanged
    before = (root / chapter).read_text()
    notebook = exported(root, "tensorflow", chapter)
    code = cell(notebook, "print('below')")
    assert source_text(code) == "x = 1\nprint('below')"  # the cell is tensorflow's, its mark dropped
    code["source"] = "x = 1\nprint('below, edited')"
    save(root, "tensorflow", notebook, chapter)
    assert run(root, "sync").exit_code == 0
    assert (root / chapter).read_text() == before.replace("print('below')", "print('below, edited')")


def test_edit_then_sync_writes_nothing(small_book: Path):
    config = load_config(small_book)
    chapters = [path for path in notebook_files(config) if path.endswith(".md")]
    before = {path: (small_book / path).stat() for path in chapters}
    for path in chapters:
        for tab in config.tabs:
            if in_tab(read_chapter(config, path).document, tab, config.default_tab):
                assert run(small_book, "edit", path, "--tab", tab).exit_code == 0
    result = run(small_book, "sync")
    assert result.exit_code == 0, result.output
    assert "written" not in result.output
    for path, stat in before.items():
        now = (small_book / path).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), path


# --- the rules -----------------------------------------------------------------------------------


def test_edit_writes_provenance(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    meta = cell(notebook, "import torch")["metadata"]["d2lbuild"]["edit"]
    assert meta["span"] == [14, 18]
    assert meta["marks"] == {"open": "```{.python .input}", "tab": "#@tab pytorch", "close": "```"}
    assert meta["tabs"] == ["pytorch"] and len(meta["digest"]) == 16
    shared = cell(notebook, "x = 1")["metadata"]["d2lbuild"]["edit"]
    assert shared["tabs"] == ["mxnet", "pytorch", "tensorflow"]
    assert notebook["metadata"]["kernelspec"]["name"] == "d2l-pytorch"


def test_tab_specific_edit_replaces_the_block_with_its_marks(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    cell(notebook, "import torch")["source"] = "import torch\nz = torch.zeros(3)\nprint(z)"
    others = views(chapter_book)
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 0, result.output
    assert "```{.python .input}\n#@tab pytorch\nimport torch\nz = torch.zeros(3)\nprint(z)\n```\n" in (chapter_book / "ch.md").read_text()
    after = views(chapter_book)
    assert after["mxnet"] == others["mxnet"] and after["tensorflow"] == others["tensorflow"]


def test_save_mark_stays_on_its_statement(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    code = cell(notebook, "x = 1")
    code["source"] = source_text(code).replace("x = 1  #@save", "x = 10")
    save(chapter_book, "pytorch", notebook)
    assert run(chapter_book, "sync").exit_code == 0
    assert "x = 10  #@save\nif tab.selected('pytorch'):" in (chapter_book / "ch.md").read_text()


def test_shared_edit_applies_to_every_framework_and_says_so(chapter_book: Path):
    notebook = exported(chapter_book, "tensorflow")
    cell(notebook, "Shared prose.")["source"] = "# Title\n\nShared prose, edited.\n"
    save(chapter_book, "tensorflow", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 0
    assert "ch.md:1: shared by mxnet, pytorch, tensorflow: the tensorflow edit applies to all of them" in result.output
    for tab, cells in views(chapter_book).items():
        assert cells[0] == ("markdown", "# Title\n\nShared prose, edited.\n"), tab


def test_split_makes_a_shared_block_framework_specific(chapter_book: Path):
    notebook = exported(chapter_book, "tensorflow")
    before = views(chapter_book)
    code = cell(notebook, "x = 1")
    code["source"] = source_text(code).replace("y = 3", "y = 30")
    save(chapter_book, "tensorflow", notebook)
    result = run(chapter_book, "sync", "--split")
    assert result.exit_code == 0, result.output
    text = (chapter_book / "ch.md").read_text()
    assert "#@tab mxnet, pytorch\nx = 1  #@save" in text
    assert "```{.python .input}\n#@tab tensorflow\nx = 1  #@save\ny = 30\n```" in text
    after = views(chapter_book)
    assert after["mxnet"] == before["mxnet"] and after["pytorch"] == before["pytorch"]
    assert ("code", "x = 1  #@save\ny = 30") in after["tensorflow"]


def test_an_edit_of_lines_frameworks_see_differently_needs_split(chapter_book: Path):
    notebook = exported(chapter_book, "tensorflow")
    code = cell(notebook, "x = 1")
    code["source"] = source_text(code).replace("y = 3", "y = 30")  # the else branch, shown dedented
    save(chapter_book, "tensorflow", notebook)
    original = (chapter_book / "ch.md").read_bytes()
    result = run(chapter_book, "sync")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "ch.md:5: the tensorflow edit changes lines that mxnet, pytorch see differently (tab branches or aliases); "
        "sync --split makes the block tensorflow's own"
    ]
    assert (chapter_book / "ch.md").read_bytes() == original


def test_new_cells_follow_the_nearest_known_block_for_one_framework(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    before = views(chapter_book)
    position = notebook["cells"].index(cell(notebook, "import torch"))
    notebook["cells"].insert(position + 1, new_code("print(z)"))
    notebook["cells"].insert(0, {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "Before all."})
    notebook["cells"].append(new_code("", "empty"))  # an empty new cell adds nothing
    save(chapter_book, "pytorch", notebook)
    assert run(chapter_book, "sync").exit_code == 0
    text = (chapter_book / "ch.md").read_text()
    assert text.startswith(":begin_tab:`pytorch`\nBefore all.\n:end_tab:\n\n# Title\n")
    assert "z = torch.ones(2)\n```\n\n```{.python .input}\n#@tab pytorch\nprint(z)\n```\n\n```{.python .input}\n%%tab" in text
    after = views(chapter_book)
    assert after["mxnet"] == before["mxnet"] and after["tensorflow"] == before["tensorflow"]
    assert after["pytorch"][0] == ("markdown", "Before all.\n")


def test_deleted_cells(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    notebook["cells"].remove(cell(notebook, "import torch"))
    notebook["cells"].remove(cell(notebook, "More shared prose."))
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 0
    assert "ch.md:29: deleted in pytorch, kept: mxnet, tensorflow share it" in result.output
    text = (chapter_book / "ch.md").read_text()
    assert "import torch" not in text and "y = 3\n```\n\n```{.python .input}\n%%tab" in text
    assert text.endswith("More shared prose.\n")
    notebook = exported(chapter_book, "pytorch")
    notebook["cells"].remove(cell(notebook, "More shared prose."))
    save(chapter_book, "pytorch", notebook)
    assert run(chapter_book, "sync", "--split").exit_code == 0
    assert (chapter_book / "ch.md").read_text().endswith(":begin_tab:`mxnet, tensorflow`\nMore shared prose.\n:end_tab:\n")
    assert "More shared prose." not in str(views(chapter_book)["pytorch"])


def test_conflict_gets_markers_and_exit_1(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    chapter = chapter_book / "ch.md"
    chapter.write_text(chapter.read_text().replace("z = torch.ones(2)", "z = torch.ones(5)"))
    cell(notebook, "import torch")["source"] = "import torch\nz = torch.ones(7)"
    cell(notebook, "PyTorch prose.")["source"] = "PyTorch prose, edited.\n"  # no conflict: written too
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 1
    [message] = result.stderr.strip().splitlines()
    assert message.startswith("ch.md:14: conflict: this block changed in the chapter since `d2lbuild edit`")
    lines = chapter.read_text().splitlines()
    assert lines[13:24] == [
        "<<<<<<< chapter",
        "```{.python .input}",
        "#@tab pytorch",
        "import torch",
        "z = torch.ones(5)",
        "```",
        "=======",
        "```{.python .input}",
        "#@tab pytorch",
        "import torch",
        "z = torch.ones(7)",
    ]
    assert "PyTorch prose, edited." in chapter.read_text()
    written = chapter.read_bytes()
    again = run(chapter_book, "sync")  # markers not resolved yet: nothing more is done
    assert again.exit_code == 1
    assert again.stderr.strip() == "ch.md:14: conflict markers of an earlier sync: resolve them, then export the chapter again (`d2lbuild edit --force`)"
    assert chapter.read_bytes() == written


def test_outputs_never_reach_the_chapter(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    for code in notebook["cells"]:
        if code["cell_type"] == "code":
            code["execution_count"] = 4
            code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "OUTPUT TEXT\n"}]
    save(chapter_book, "pytorch", notebook)
    stat = (chapter_book / "ch.md").stat()
    assert run(chapter_book, "sync").exit_code == 0
    assert (chapter_book / "ch.md").stat().st_mtime_ns == stat.st_mtime_ns  # outputs alone change nothing
    cell(notebook, "import torch")["source"] = "import torch"
    save(chapter_book, "pytorch", notebook)
    assert run(chapter_book, "sync").exit_code == 0
    assert "OUTPUT" not in (chapter_book / "ch.md").read_text()
    kept = json.loads((chapter_book / edit_path("pytorch", "ch.md")).read_text())
    assert cell(kept, "x = 1")["outputs"][0]["text"] == "OUTPUT TEXT\n"  # the notebook keeps its outputs


def test_sync_writes_atomically(chapter_book: Path, monkeypatch):
    notebook = exported(chapter_book, "pytorch")
    cell(notebook, "import torch")["source"] = "import torch"
    save(chapter_book, "pytorch", notebook)
    original = (chapter_book / "ch.md").read_bytes()

    def failing_replace(source, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr("d2lbuild.fsutil.os.replace", failing_replace)
    result = run(chapter_book, "sync")
    assert result.exit_code == 1
    assert result.stderr.strip() == "ch.md: no space left on device"
    assert (chapter_book / "ch.md").read_bytes() == original
    assert sorted(path.name for path in chapter_book.iterdir() if path.name.endswith(".tmp")) == []


def test_edit_and_sync_errors_are_one_line(chapter_book: Path):
    (chapter_book / "other.md").write_text("# Other\n\n```{.python .input}\n#@tab pytorch\nx = 1\n```\n")
    cases = [
        (("edit", "other.md", "--tab", "tensorflow"), "other.md:1: the section has no tensorflow notebook"),
        (("edit", "missing.md"), "missing.md: no such chapter"),
        (("edit", "ch.md", "--tab", "jax"), "config.ini: unknown tab 'jax'"),
        (("sync", "other.md"), "other.md: no notebook under build/edit/ for this chapter"),
    ]
    for args, message in cases:
        result = run(chapter_book, *args)
        assert result.exit_code == 1, args
        assert result.stderr.strip().startswith(message), result.stderr
    exported(chapter_book, "pytorch")
    (chapter_book / edit_path("pytorch", "ch.md")).write_text("{not json")
    result = run(chapter_book, "sync")
    assert result.exit_code == 1 and result.stderr.startswith("build/edit/pytorch/ch.ipynb: not a readable notebook")


def test_a_notebook_whose_chapter_is_gone_is_skipped(chapter_book: Path):
    exported(chapter_book, "pytorch")
    (chapter_book / "gone.md").write_text("# Gone\n")
    exported(chapter_book, "pytorch", "gone.md")
    (chapter_book / "gone.md").unlink()
    result = run(chapter_book, "sync")
    assert result.exit_code == 0
    assert result.stderr.strip() == "build/edit/pytorch/gone.ipynb: warning: its chapter gone.md is gone; skipped"
    assert "ch.md: unchanged" in result.stdout


def test_edit_keeps_unsynced_edits_unless_forced(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    cell(notebook, "import torch")["source"] = "import torch"
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "edit", "ch.md", "--tab", "pytorch")
    assert result.exit_code == 1 and "holds edits not synced to the chapter" in result.stderr
    assert run(chapter_book, "edit", "ch.md", "--tab", "pytorch", "--force").exit_code == 0
    assert "z = torch.ones(2)" in source_text(cell(exported(chapter_book, "pytorch"), "import torch"))


def test_sync_keeps_the_notebook_in_step_for_later_edits(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    cell(notebook, "import torch")["source"] = "import torch\nz = 1"
    notebook["cells"].append(new_code("print('new')"))
    save(chapter_book, "pytorch", notebook)
    assert run(chapter_book, "sync").exit_code == 0
    notebook = json.loads((chapter_book / edit_path("pytorch", "ch.md")).read_text())
    assert cell(notebook, "print('new')")["id"] == "added"
    cell(notebook, "print('new')")["source"] = "print('newer')"
    cell(notebook, "import torch")["source"] = "import torch\nz = 2"
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 0, result.output
    text = (chapter_book / "ch.md").read_text()
    assert "z = 2" in text and "print('newer')" in text and "print('new')\n" not in text


# --- random edits --------------------------------------------------------------------------------


def random_edits(notebook: dict, rng: random.Random, serial: list[int]) -> None:
    """Edit, add and delete a few cells of a notebook."""
    cells = notebook["cells"]
    for _ in range(rng.randint(1, 4)):
        serial[0] += 1
        action = rng.choice(["edit", "add", "delete"]) if cells else "add"
        text = f"value_{serial[0]} = {serial[0]}"
        if action == "edit":
            target = rng.choice(cells)
            target["source"] = text if target["cell_type"] == "code" else f"Text {serial[0]}.\n"
        elif action == "add":
            kind = rng.choice(["code", "markdown"])
            new = new_code(text, f"new{serial[0]}") if kind == "code" else {"cell_type": "markdown", "id": f"new{serial[0]}", "metadata": {}, "source": f"Text {serial[0]}.\n"}
            cells.insert(rng.randint(0, len(cells)), new)
        else:
            cells.remove(rng.choice(cells))


def plain(cells: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Cells to compare: Markdown cells next to each other as one (the reader joins prose of the same tabs, as
    d2lbook does), a #@save that sync put back aside."""
    result: list[tuple[str, list[str]]] = []
    for kind, text in cells:
        lines = [line.replace("  #@save", "") for line in cell_lines(text)]
        if kind == "markdown" and result and result[-1][0] == "markdown":
            result[-1] = ("markdown", [*result[-1][1], "", *lines])
        else:
            result.append((kind, lines))
    return [(kind, [line for line in lines if line.strip()] if kind == "markdown" else lines) for kind, lines in result]


@pytest.fixture
def our_book(tmp_path: Path) -> Path:
    """A copy of this repository's book (its chapters and config)."""
    root = tmp_path / "ours"
    shutil.copytree(REPO / "chapters", root / "chapters")
    shutil.copy(REPO / "config.ini", root / "config.ini")
    return root


RANDOM_CHAPTERS = [
    ("chapter", "ch.md"),
    ("small", "chapter_basics/tensors.md"),
    ("small", "chapter_basics/models.md"),
    ("ours", "chapters/classification/softmax-scratch.md"),
    ("ours", "chapters/convolutions/conv-layer.md"),
    ("ours", "chapters/attention/transformer.md"),
]


@pytest.mark.parametrize("seed", range(40))
def test_random_edits_change_only_that_framework(small_book: Path, chapter_book: Path, our_book: Path, seed: int):
    rng = random.Random(seed)
    which, chapter = RANDOM_CHAPTERS[seed % len(RANDOM_CHAPTERS)]
    root = {"chapter": chapter_book, "small": small_book, "ours": our_book}[which]
    config = load_config(root)
    tab = rng.choice([tab for tab in config.tabs if in_tab(read_chapter(config, chapter).document, tab, config.default_tab)])
    before = views(root, chapter)
    notebook = exported(root, tab, chapter)
    random_edits(notebook, rng, [0])
    save(root, tab, notebook, chapter)
    sync(root, [chapter], split=True)
    after = views(root, chapter)
    for other in config.tabs:
        if other != tab:
            assert after[other] == before[other], (seed, other)
    wanted = [(cell["cell_type"], source_text(cell)) for cell in notebook["cells"] if source_text(cell).strip()]
    assert plain(after[tab]) == plain(wanted), seed


# --- the library ---------------------------------------------------------------------------------


def test_sync_from_library(small_book: Path):
    assert run(small_book, "extract").exit_code == 0
    library = small_book / "d2l" / "tensorflow.py"
    edited = library.read_text().replace('"""Add up the values.', '"""Add the values up.')
    library.write_text(edited)
    result = run(small_book, "sync", "--from-library")
    assert result.exit_code == 0, result.output
    assert "shared by mxnet, pytorch, tensorflow" in result.output
    assert '    """Add the values up."""\n' in (small_book / "chapter_basics" / "tensors.md").read_text()
    assert run(small_book, "extract").exit_code == 0
    assert library.read_text() == edited
    assert '"""Add the values up.' in (small_book / "d2l" / "torch.py").read_text()
    again = run(small_book, "sync", "--from-library")
    assert again.exit_code == 0 and again.output.strip() == "sync: nothing to sync"


def test_sync_from_library_refuses_lines_of_no_block(small_book: Path):
    assert run(small_book, "extract").exit_code == 0
    library = small_book / "d2l" / "torch.py"
    library.write_text(library.read_text().replace("concat = torch.cat", "concat = torch.concat"))  # an alias of config.ini
    snapshot = (small_book / "chapter_basics" / "tensors.md").read_bytes()
    result = run(small_book, "sync", "--from-library")
    assert result.exit_code == 1
    assert result.stderr.startswith("d2l/torch.py:")
    assert "come from no single chapter block" in result.stderr
    assert (small_book / "chapter_basics" / "tensors.md").read_bytes() == snapshot


def test_no_python_traceback_for_a_chapter_that_is_not_markdown(book):
    root = book({"a.md": "# A\n", "b.py": "# %%\nx = 1\n"})
    result = run(root, "edit", "b.py")
    assert result.exit_code == 1
    assert result.stderr.strip() == "b.py:1: only Markdown chapters can be edited as notebooks"
    assert not os.path.exists(root / "build" / "edit")


def test_a_cell_whose_type_changed_replaces_its_block(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    prose = cell(notebook, "PyTorch prose.")
    prose.update(cell_type="code", source="print('prose')", outputs=[], execution_count=None)
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 0, result.output
    text = (chapter_book / "ch.md").read_text()
    assert "PyTorch prose." not in text and ":begin_tab:`pytorch`" not in text
    assert "```{.python .input}\n#@tab pytorch\nprint('prose')\n```" in text
    assert ("code", "print('prose')") in views(chapter_book)["pytorch"]


def test_cells_are_known_by_their_metadata_when_a_tool_drops_their_ids(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    notebook["nbformat_minor"] = 4
    for code in notebook["cells"]:
        del code["id"]
    copy = json.loads(json.dumps(cell(notebook, "import torch")))
    cell(notebook, "import torch")["source"] = "import torch\nz = torch.ones(9)"
    notebook["cells"].append(copy)  # a pasted copy keeps the metadata: it is a new cell
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 0, result.output
    text = (chapter_book / "ch.md").read_text()
    assert text.count("import torch") == 2 and "z = torch.ones(9)" in text and text.count("Shared prose.") == 1
    assert text.endswith("More shared prose.\n\n```{.python .input}\n#@tab pytorch\nimport torch\n\nz = torch.ones(2)\n```\n")


def test_a_newline_jupyter_adds_at_the_end_of_a_cell_is_no_edit(chapter_book: Path):
    notebook = exported(chapter_book, "pytorch")
    chapter = chapter_book / "ch.md"
    chapter.write_text(chapter.read_text().replace("z = torch.ones(2)", "z = torch.ones(5)"))
    changed = chapter.read_bytes()
    torch_cell = cell(notebook, "import torch")
    torch_cell["source"] = source_text(torch_cell) + "\n"
    cell(notebook, "Shared prose.")["source"] = source_text(cell(notebook, "Shared prose.")).rstrip("\n")
    save(chapter_book, "pytorch", notebook)
    result = run(chapter_book, "sync")
    assert result.exit_code == 0, result.output
    assert chapter.read_bytes() == changed


def test_the_same_edit_on_both_sides_is_no_conflict(small_book: Path):
    assert run(small_book, "extract").exit_code == 0
    for name in ("torch", "tensorflow", "mxnet"):  # one shared function edited alike in every library
        library = small_book / "d2l" / f"{name}.py"
        library.write_text(library.read_text().replace('"""Add up the values.', '"""Add the values up.'))
    result = run(small_book, "sync", "--from-library")
    assert result.exit_code == 0, result.output
    assert "(mxnet, pytorch, tensorflow; 1 cells changed)" in result.output
    assert (small_book / "chapter_basics" / "tensors.md").read_text().count('"""Add the values up."""') == 1


def test_line_endings_are_kept(chapter_book: Path):
    chapter = chapter_book / "ch.md"
    chapter.write_bytes(CHAPTER.replace("\n", "\r\n").encode())
    notebook = exported(chapter_book, "pytorch")
    assert run(chapter_book, "sync").exit_code == 0
    assert chapter.read_bytes() == CHAPTER.replace("\n", "\r\n").encode()  # no edit: every byte kept
    cell(notebook, "import torch")["source"] = "import torch\nz = torch.ones(3)"
    notebook["cells"].append(new_code("print(z)"))
    save(chapter_book, "pytorch", notebook)
    assert run(chapter_book, "sync").exit_code == 0
    data = chapter.read_bytes()
    assert b"z = torch.ones(3)\r\n" in data and b"#@tab pytorch\r\nprint(z)\r\n```\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
