"""The extract, notebooks and check commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shutil

import nbformat
import pytest
from conftest import run, snapshot

SECTION = """\
# Section
:label:`sec_one`

```{.python .input}
#@tab mxnet, pytorch, tensorflow
def one():  #@save
    return 1
```
"""


def test_extract_writes_each_library_and_reports_counts(book):
    root = book({"a.md": SECTION})
    result = run(root, "extract")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "d2l/mxnet.py: 1 definitions from 1 sections",
        "d2l/torch.py: 1 definitions from 1 sections",
        "d2l/tensorflow.py: 1 definitions from 1 sections",
    ]
    assert "def one():" in (root / "d2l/torch.py").read_text()
    index = json.loads((root / "build/library/pytorch.json").read_text())["data"]
    assert index["definitions"][0]["names"] == ["one"] and index["definitions"][0]["line"] == 6


def test_extract_is_idempotent_and_deterministic(book):
    root = book({"a.md": SECTION})
    run(root, "extract")
    first = snapshot(root / "d2l")
    stats = {p: (root / "d2l" / p).stat().st_mtime_ns for p in first}
    (root / "build/.d2lbuild").exists() and [p.unlink() for p in (root / "build/.d2lbuild").iterdir()]
    assert run(root, "extract").exit_code == 0
    assert snapshot(root / "d2l") == first
    assert {p: (root / "d2l" / p).stat().st_mtime_ns for p in first} == stats  # nothing rewritten


def test_extract_check_reports_a_stale_library_with_a_diff(book):
    root = book({"a.md": SECTION})
    run(root, "extract")
    assert run(root, "extract", "--check").exit_code == 0
    (root / "a.md").write_text(SECTION.replace("return 1", "return 2"))
    before = snapshot(root / "d2l")
    result = run(root, "extract", "--check")
    assert result.exit_code == 1
    assert "-    return 1\n+    return 2" in result.stdout and "stale" in result.stderr
    assert snapshot(root / "d2l") == before


def test_extract_after_an_edit_is_not_skipped(book):
    root = book({"a.md": SECTION})
    run(root, "extract")
    (root / "a.md").write_text(SECTION.replace("return 1", "return 22"))
    assert run(root, "extract").exit_code == 0
    assert "return 22" in (root / "d2l/torch.py").read_text()


SLOPPY_INPUTS = {
    "unclosed fence": ("```{.python .input}\nx = 1\n", "a.md:3: warning: code fence ``` is never closed"),
    "unclosed tab block": (":begin_tab:`mxnet`\ntext\n", "a.md:3: warning: :begin_tab: is never closed"),
    "nested tab block": (":begin_tab:`mxnet`\n:begin_tab:`pytorch`\n:end_tab:\n", "a.md:4: warning: :begin_tab: inside the tab block"),
    "unopened tab block": ("text\n:end_tab:\n", "a.md:4: warning: :end_tab: without a :begin_tab:"),
    "unknown #@tab": ("```{.python .input}\n#@tab jax\nx = 1\n```\n", "a.md:4: warning: unknown tab 'jax' in #@tab"),
    "unknown %%tab": ("```{.python .input}\n%%tab jax\nx = 1\n```\n", "a.md:4: warning: unknown tab 'jax' in %%tab"),
    "unknown :begin_tab:": (":begin_tab:`jax`\nx\n:end_tab:\n", "a.md:3: warning: unknown tab 'jax' in :begin_tab:"),
    "save marking nothing": ("```{.python .input}\n#@save\n\nx = 1\n```\n", "a.md:4: warning: #@save marks nothing"),
    "upper-case tab mark": ("```{.python .input}\n#@TAB pytorch\nx = 1\n```\n", "a.md:4: warning: write the tab mark #@tab in lower case"),
}


@pytest.mark.parametrize("case", sorted(SLOPPY_INPUTS))
def test_sloppy_input_d2lbook_accepts_builds_with_a_warning_and_fails_check(book, case):
    body, expected = SLOPPY_INPUTS[case]
    saving = "```{.python .input}\ndef f():  #@save\n    return 1\n```\n\n"  # so that extract reads the chapter
    root = book({"a.md": "# T\n\n" + saving + body})
    expected = re.sub(r"a\.md:(\d+)", lambda match: f"a.md:{int(match.group(1)) + saving.count(chr(10))}", expected)
    for command in ("extract", "notebooks"):
        result = run(root, command)
        assert result.exit_code == 0 and expected in result.stderr.splitlines()[0], (command, result.stderr)
    result = run(root, "check")
    assert result.exit_code == 1 and expected.replace(": warning: ", ": ") in result.stderr
    assert "Traceback" not in result.output


def test_extract_reads_only_the_chapters_that_save_code(book):
    """A chapter without #@save adds nothing to a library: extract skims it (its warnings are for notebooks
    and check), while a chapter that saves code is read in full."""
    body, expected = SLOPPY_INPUTS["nested tab block"]
    root = book({"a.md": "# T\n\n" + body, "b.md": "# B\n\n```{.python .input}\ndef g():  #@save\n    return 2\n```\n"})
    extracted = run(root, "extract")
    assert extracted.exit_code == 0 and "a.md" not in extracted.stderr
    assert any("def g():" in path.read_text() for path in (root / "d2l").glob("*.py"))
    notebooks = run(root, "notebooks")
    assert notebooks.exit_code == 0 and expected in notebooks.stderr
    assert run(root, "check").exit_code == 1


FATAL_INPUTS = {
    "save that does not parse": ("```{.python .input}\ndef f(:  #@save\n```\n", "a.md:4: #@save is used, but the cell does not parse"),
    "not UTF-8": (b"# T\n\n\xff\n", "a.md:3: not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(FATAL_INPUTS))
@pytest.mark.parametrize("command", ["extract", "notebooks"])
def test_bad_input_is_one_line_and_exit_1_and_touches_nothing(book, case, command):
    root = book({"a.md": SECTION})
    assert run(root, "extract").exit_code == 0 and run(root, "notebooks").exit_code == 0
    before = snapshot(root)
    body, expected = FATAL_INPUTS[case]
    (root / "a.md").write_bytes(body if isinstance(body, bytes) else ("# T\n\n" + body).encode())
    before["a.md"] = (root / "a.md").read_bytes()
    result = run(root, command)
    assert result.exit_code == 1
    assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert snapshot(root) == before


def test_not_utf8_chapter_is_reported(book):
    root = book({"a.md": SECTION})
    (root / "a.md").write_bytes(b"# T\n\n\xff\n")
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("a.md:3: not UTF-8")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[build\ntabs = a\n", "config.ini:1: "),
        ("[build]\ntabs = pytorch, all\n", "config.ini:2: [build] tabs: 'all' is not a valid tab name"),
        ("[build]\ntabs = pytorch\n[library-pytorch]\nsimple_alias = a -> \n", "config.ini:4: [library-pytorch] simple_alias: bad entry"),
        ("[build]\ntabs = pytorch\n[library-pytorch]\nsimple_alias = a -> b c\n", "config.ini:4: [library-pytorch] simple_alias: bad entry"),
        ("[build]\ntabs = pytorch\n[library-pytorch]\nalias =\n  x = = 1\n", "config.ini:4: [library-pytorch] alias: 'x = = 1' is not Python"),
        ("[build]\ntabs = pytorch\n[eval]\ntimeout = soon\n", "config.ini:4: [eval] timeout: 'soon' is not a number"),
        ("[build]\ntabs = pytorch\n[eval-pytorch]\ndevice = tpu\n", "config.ini:4: [eval-pytorch] device: 'tpu' is not one of"),
    ],
)
def test_broken_config_names_the_key(book, config, expected):
    root = book({"a.md": SECTION}, config=config)
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith(expected), result.stderr
    assert "Traceback" not in result.output


def test_missing_config(tmp_path):
    result = run(tmp_path, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("config.ini: not found")


def test_release_becomes_version(book):
    config = "[project]\nrelease = 2.0.1\n[build]\ntabs = pytorch\n[library]\nversion_file = d2l/__init__.py\n"
    root = book({"a.md": SECTION}, config=config)
    (root / "d2l").mkdir()
    (root / "d2l/__init__.py").write_text('"""Doc."""\n__version__ = "0.0.1"\nX = 1\n')
    run(root, "extract")
    assert (root / "d2l/__init__.py").read_text() == '"""Doc."""\n__version__ = "2.0.1"\nX = 1\n'


def test_library_follows_toc_order_and_orphans_only_get_notebooks(book):
    files = {
        "index.md": "# Book\n\n```toc\n:maxdepth: 2\n\npart/index\n```\n",
        "part/index.md": "# Part\n\n```toc\nsecond\nfirst\n```\n",
        "part/first.md": "```{.python .input}\n#@tab pytorch\nFIRST = 1  #@save\n```\n",
        "part/second.md": "```{.python .input}\n#@tab pytorch\nSECOND = 2  #@save\n```\n",
        "orphan.md": "```{.python .input}\n#@tab pytorch\nORPHAN = 3  #@save\n```\n",
    }
    root = book(files)
    assert run(root, "extract").exit_code == 0 and run(root, "notebooks").exit_code == 0
    text = (root / "d2l/torch.py").read_text()
    assert text.index("SECOND") < text.index("FIRST") and "ORPHAN" not in text
    assert (root / "build/notebooks/pytorch/orphan.ipynb").is_file()
    recorded = json.loads((root / "build/notebooks/order.json").read_text())["data"]  # what the site pages follow
    assert recorded == {"order": ["index.md", "part/index.md", "part/second.md", "part/first.md"], "orphans": ["orphan.md"]}
    result = run(root, "check")
    assert "orphan.md:1: warning: no toc reaches this file" in result.stderr


def test_toc_entry_without_file_is_skipped_with_a_warning(book):
    root = book({"index.md": "# B\n\n```toc\nmissing\na\n```\n", "a.md": SECTION})
    result = run(root, "extract")
    assert result.exit_code == 0 and result.stderr.startswith("index.md:4: warning: toc entry 'missing' names no file")
    assert "def one" in (root / "d2l/torch.py").read_text()
    assert run(root, "check").exit_code == 1


def test_tab_all_alone_makes_a_section_exist_in_the_default_tab_only(book):
    root = book({"a.md": SECTION.replace("mxnet, pytorch, tensorflow", "all"), "b.md": SECTION.replace("one", "two")})
    assert run(root, "extract").exit_code == 0 and run(root, "notebooks").exit_code == 0
    assert "def one" in (root / "d2l/mxnet.py").read_text() and "def one" not in (root / "d2l/torch.py").read_text()
    assert (root / "build/notebooks/mxnet/a.ipynb").is_file() and not (root / "build/notebooks/pytorch/a.ipynb").exists()
    assert "def two" in (root / "d2l/torch.py").read_text()


def test_notebooks_are_valid_and_carry_positions(book):
    root = book({"a.md": SECTION + ":begin_tab:`tensorflow`\nTF only.\n:end_tab:\n"})
    assert run(root, "notebooks").exit_code == 0
    for tab in ("mxnet", "pytorch", "tensorflow"):
        notebook = nbformat.read(root / f"build/notebooks/{tab}/a.ipynb", as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == f"d2l-{tab}"
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code[0].metadata.d2lbuild == {"path": "a.md", "line": 6}
        assert code[0].source == "def one():  #@save\n    return 1"
        assert ("TF only." in json.dumps(notebook)) == (tab == "tensorflow")


def test_section_without_code_for_a_tab_has_no_notebook(book):
    root = book({"a.md": "```{.python .input}\n#@tab pytorch\nx = 1\n```\n", "prose.md": "# Only words\n"})
    run(root, "notebooks")
    assert (root / "build/notebooks/pytorch/a.ipynb").is_file()
    assert not (root / "build/notebooks/mxnet/a.ipynb").exists()
    assert (root / "build/notebooks/mxnet/prose.ipynb").is_file()


def test_only_changed_notebooks_are_rewritten_and_deleted_ones_removed(book):
    root = book({"a.md": SECTION, "b.md": SECTION.replace("one", "two")})
    run(root, "notebooks")
    a = root / "build/notebooks/pytorch/a.ipynb"
    b = root / "build/notebooks/pytorch/b.ipynb"
    os.utime(a, ns=(1, 1))
    os.utime(b, ns=(1, 1))
    (root / "b.md").write_text(SECTION.replace("one", "three"))
    result = run(root, "notebooks")
    assert a.stat().st_mtime_ns == 1 and b.stat().st_mtime_ns != 1
    assert "notebooks: 3 written, 6 unchanged, 0 removed" in result.stdout
    (root / "b.md").unlink()
    (root / "index.md").write_text("# Book\n\n```toc\na\n```\n")
    result = run(root, "notebooks")
    assert not b.exists() and "removed build/notebooks/pytorch/b.ipynb" in result.stdout


def test_second_notebooks_run_changes_nothing(book):
    root = book({"a.md": SECTION})
    run(root, "notebooks")
    before = snapshot(root / "build/notebooks")
    result = run(root, "notebooks")
    assert result.stdout.startswith("notebooks: ") and "up to date" in result.stdout
    assert snapshot(root / "build/notebooks") == before


def test_check_reports_committed_outputs_undefined_names_and_parity(book):
    files = {
        "a.md": "```{.python .input}\n#@tab pytorch\ndef f():  #@save\n    return missing_name\n```\n\n```{.json .output n=1}\n[]\n```\n",
    }
    root = book(files)
    result = run(root, "check")
    assert result.exit_code == 1
    assert "a.md:4: undefined name 'missing_name' (in d2l/torch.py:" in result.stderr
    assert "a.md:7: an output block is committed here" in result.stderr
    assert "f       -      yes      -" in result.stdout or "f  " in result.stdout
    assert "parity: 1 saved names are missing from some tabs" in result.stdout


def test_check_passes_a_clean_book(book):
    root = book({"a.md": SECTION})
    result = run(root, "check")
    assert result.exit_code == 0 and "parity: every saved name exists in every tab" in result.stdout


def test_warnings_are_repeated_when_nothing_changed(book):
    twice = "```{.python .input}\n#@tab mxnet\ndef f():  #@save\n    return 1\n```\n\n```{.python .input}\n#@tab mxnet\ndef f():  #@save\n    return 2\n```\n"
    root = book({"a.md": twice})
    first, second = run(root, "extract"), run(root, "extract")
    assert "a.md:9: warning: f is saved again; this definition replaces the one at a.md:3 when the library runs" in first.stderr
    assert first.stderr == second.stderr
    assert second.stdout.splitlines()[0] == "d2l/mxnet.py: 2 definitions from 1 sections (unchanged)"


def test_check_reports_unknown_tabs_in_tab_selected(book):
    root = book({"a.md": "```{.python .input}\n#@tab all\nif tab.selected('pytroch'):\n    x = 1\n```\n"})
    result = run(root, "check")
    assert result.exit_code == 1 and "a.md:3: tab.selected names unknown tab 'pytroch'" in result.stderr


def test_build_is_extract_then_notebooks_with_each_warning_once(book):
    twice = "```{.python .input}\n#@tab mxnet\ndef f():  #@save\n    return 1\n```\n\n```{.python .input}\n#@tab mxnet\ndef f():  #@save\n    return 2\n```\n"
    root = book({"a.md": SECTION, "b.md": twice})
    result = run(root, "build")
    assert result.exit_code == 0
    assert result.stderr.count("b.md:9: warning: f is saved again") == 1
    assert "d2l/mxnet.py: 3 definitions from 2 sections" in result.stdout and "notebooks: 7 written" in result.stdout
    built = {**snapshot(root / "d2l"), **snapshot(root / "build/notebooks")}
    for path in (root / "build", root / "d2l"):
        shutil.rmtree(path)
    run(root, "extract")
    run(root, "notebooks")  # the two commands one by one give the same files
    assert {**snapshot(root / "d2l"), **snapshot(root / "build/notebooks")} == built
    again = run(root, "build")
    assert "(unchanged)" in again.stdout and "notebooks: 7 up to date" in again.stdout


def test_build_after_an_edit_rebuilds_both(book):
    root = book({"a.md": SECTION})
    run(root, "build")
    (root / "a.md").write_text(SECTION.replace("one", "uno"))
    result = run(root, "build")
    assert "d2l/torch.py: 1 definitions from 1 sections\n" in result.stdout and "notebooks: 3 written" in result.stdout
    assert "uno" in (root / "build/notebooks/pytorch/a.ipynb").read_text()


def test_wildcards_enter_no_hidden_folder_and_resources_folders_get_no_notebooks(book):
    config = "[build]\nindex = index\nnotebooks = *.md */*.md .hidden/*.md\nresources = img/ data\ntabs = pytorch\n"
    files = {name: "# T\n" for name in (".github/template.md", ".hidden/spelled.md", "img/README.md", "data/notes.md", "ch/a.md")}
    root = book(files, config=config)
    assert run(root, "notebooks").exit_code == 0
    made = sorted(path.relative_to(root / "build/notebooks/pytorch").as_posix() for path in (root / "build/notebooks/pytorch").rglob("*.ipynb"))
    assert made == [".hidden/spelled.ipynb", "ch/a.ipynb", "index.ipynb"]  # a hidden folder named in full is entered
