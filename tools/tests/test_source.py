"""Reading chapters: fences, tab marks, tab blocks, helper cells, encodings, and bad input."""

from __future__ import annotations

import pytest

from d2lbuild.errors import BuildError
from d2lbuild.source import Notes, read_markdown, split_lines

TABS = ("mxnet", "pytorch", "tensorflow")


def cells_of(text: str):
    return read_markdown("ch.md", split_lines(text), TABS)


def test_only_python_input_fences_are_code_cells():
    cells = cells_of("intro\n\n```{.python .input  n=3}\nx = 1\n```\n\n```python\ny = 2\n```\n\n```{.python .output}\nout\n```\n")
    assert [cell.kind for cell in cells] == ["markdown", "code", "markdown"]
    assert cells[1].text == "x = 1"
    assert "y = 2" in cells[2].text and "out" in cells[2].text


def test_fence_closes_only_with_a_backtick_run_of_the_same_length():
    cells = cells_of("````{.python .input}\ns = '''\n```\n'''\n````\n")
    assert len(cells) == 1
    assert cells[0].text == "s = '''\n```\n'''"


def test_code_cell_positions_are_chapter_lines():
    cells = cells_of("# T\n\n```{.python .input}\n#@tab all\na = 1\nb = 2\n```\n")
    code = cells[1]
    assert [line.number for line in code.lines] == [5, 6]
    assert str(code.position) == "ch.md:5"


@pytest.mark.parametrize(
    ("mark", "tabs"),
    [
        ("#@tab pytorch", ("pytorch",)),
        ("#@tab tensorflow, mxnet", ("mxnet", "tensorflow")),
        ("%%tab pytorch, tensorflow", ("pytorch", "tensorflow")),
        ("#@tab all", TABS),
        ("x = 1", ("mxnet",)),  # no mark: the default tab, the first in config
    ],
)
def test_tab_marks_choose_tabs_and_are_removed(mark, tabs):
    (cell,) = cells_of(f"```{{.python .input}}\n{mark}\nprint(1)\n```\n")
    assert cell.tabs == tabs
    assert "@tab" not in cell.text and "%%tab" not in cell.text


def test_begin_tab_markdown_belongs_to_its_tabs():
    cells = cells_of("shared\n:begin_tab:`pytorch, tensorflow`\nonly some\n:end_tab:\nafter\n")
    assert [(cell.text.strip(), cell.tabs) for cell in cells] == [
        ("shared", None),
        ("only some", ("pytorch", "tensorflow")),
        ("after", None),
    ]


def test_helper_cell_is_flagged():
    (cell,) = cells_of("```{.python .input}\n%load_ext d2lbook.tab\ntab.interact_select(['mxnet'])\n```\n")
    assert cell.helper


def read_with_notes(text: str):
    notes = Notes("ch.md")
    cells = read_markdown("ch.md", split_lines(text), TABS, notes=notes)
    return [(cell.kind, cell.text, cell.tabs) for cell in cells], [str(warning) for warning in notes.found]


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("a\n```{.python .input}\nx = 1\n", "ch.md:2", "never closed"),
        ("a\n````{.python .input}\nx = 1\n```\n", "ch.md:2", "never closed"),
        (":begin_tab:`mxnet`\ntext\n", "ch.md:1", "never closed: its block ends at the end of the file"),
        (":begin_tab: `mxnet`\ntext\n:end_tab:\n", "ch.md:1", "names no tab in backticks"),
        ("  :begin_tab:`mxnet`\ntext\n", "ch.md:1", "an indented :begin_tab: mark is prose"),
        (":begin_tab:`mxnet`\n:begin_tab:`pytorch`\n:end_tab:\n", "ch.md:2", "inside the tab block"),
        ("text\n:end_tab:\n", "ch.md:2", "without a :begin_tab:"),
        (":begin_tab:`jax`\nx\n:end_tab:\n", "ch.md:1", "unknown tab 'jax'"),
        ("```{.python .input}\n#@tab pytorch, jax\nx = 1\n```\n", "ch.md:2", "unknown tab 'jax' in #@tab"),
        ("```{.python .input}\n%%tab torch\nx = 1\n```\n", "ch.md:2", "unknown tab 'torch' in %%tab"),
        ("```{.python .input}\n#@tab\nx = 1\n```\n", "ch.md:2", "names no tab"),
        ("```{.python .input}\n#@TAB pytorch\nx = 1\n```\n", "ch.md:2", "lower case"),
        ("```{.python .input}\n#@tab pytorch\nx = 1\n#@tab mxnet\n```\n", "ch.md:4", "a second tab mark is dropped"),
        ("```{.python .input}\nx = 1\n  #@tab mxnet\n```\n", "ch.md:3", "below the first line chooses the cell's tabs"),
    ],
)
def test_sloppy_input_is_read_with_one_warning_naming_the_line(text, where, words):
    _, warnings = read_with_notes(text)
    (warning,) = warnings
    assert warning.startswith(where + ": warning: ") and words in warning


def test_unclosed_code_fence_makes_the_rest_of_the_file_that_cell():
    cells, _ = read_with_notes("a\n```{.python .input}\nx = 1\n\ny = 2\n")
    assert cells[-1] == ("code", "x = 1\n\ny = 2", ("mxnet",))


def test_nested_begin_tab_starts_a_new_block_and_a_stray_end_tab_only_cuts_the_prose():
    cells, _ = read_with_notes(":begin_tab:`mxnet`\nm\n:begin_tab:`pytorch`\np\n:end_tab:\nshared\n:end_tab:\nmore\n")
    assert cells == [("markdown", "m", ("mxnet",)), ("markdown", "p", ("pytorch",)), ("markdown", "shared\n\nmore", None)]


def test_a_tab_block_ends_at_a_code_cell_whose_code_stays_code():
    text = "a\n\n:begin_tab:`pytorch`\np\n\n```{.python .input}\n#@tab pytorch\nx = 1  #@save\n```\n\nafter\n"
    cells, warnings = read_with_notes(text)
    assert cells == [
        ("markdown", "a\n", None),
        ("markdown", "p", ("pytorch",)),
        ("code", "x = 1  #@save", ("pytorch",)),
        ("markdown", "\nafter", None),
    ]
    assert warnings == ["ch.md:3: warning: :begin_tab: is never closed: its block ends at the code cell at line 6; add :end_tab:"]


@pytest.mark.parametrize(
    ("text", "tabs"),
    [
        (":begin_tab:`pytorch`\n:end_tab:\n", []),  # no line in the block: no cell
        (":begin_tab:`pytorch`\n\n:end_tab:\n", [("pytorch",)]),  # a blank line: an empty cell
        (":begin_tab:`tensorflow`\n\n:begin_tab:`pytorch`\np\n:end_tab:\n", [("tensorflow",), ("pytorch",)]),
        (":begin_tab:`pytorch`\n\n\n```{.python .input}\n#@tab all\nx = 1\n```\n", [TABS]),  # blank lines before code
        (":begin_tab: `pytorch`\np\n:end_tab:\n", [None]),  # no backticks right after the mark: prose of every tab
        ("  :begin_tab:`pytorch`\np\n  :end_tab:\n", [None]),  # indented: prose
        (":begin_tab:`pytorch` and more\np\n:end_tab: and more\n", [("pytorch",)]),
    ],
)
def test_which_tab_blocks_make_a_cell(text, tabs):
    cells, _ = read_with_notes(text)
    assert [cell_tabs for _, _, cell_tabs in cells] == tabs


def test_pieces_of_the_same_kind_make_one_cell_one_blank_line_apart():
    cells, _ = read_with_notes(":begin_tab:`pytorch`\np\n\n:end_tab:\n:begin_tab:`pytorch`\n\nq\n:end_tab:\na\n:end_tab:\nb\n")
    assert cells == [("markdown", "p\n\nq", ("pytorch",)), ("markdown", "a\n\nb", None)]


def test_unknown_tab_names_are_dropped_and_a_cell_of_no_known_tab_is_in_none():
    cells, _ = read_with_notes("```{.python .input}\n#@tab jax\nx = 1\n```\n\n```{.python .input}\n#@tab jax, pytorch\ny = 1\n```\n")
    assert [tabs for _, _, tabs in cells] == [(), ("pytorch",)]


def test_commented_percent_tab_mark_counts_as_a_mark():
    cells, _ = read_with_notes("```{.python .input}\n# %%tab tensorflow\nx = 1\n```\n")
    assert cells == [("code", "x = 1", ("tensorflow",))]


def test_crlf_and_byte_order_mark_are_fine(book):
    from d2lbuild.source import read_document

    root = book({"ch.md": "x"})
    (root / "ch.md").write_bytes(b"\xef\xbb\xbf# T\r\n\r\n```{.python .input}\r\n#@tab all\r\nx = 1\r\n```\r\n")
    document = read_document(root, "ch.md", TABS)
    code = document.cells[1]
    assert code.text == "x = 1" and code.lines[0].number == 5 and code.tabs == TABS


def test_not_utf8_names_the_line(book):
    from d2lbuild.source import read_document

    root = book({"ch.md": "x"})
    (root / "ch.md").write_bytes(b"# T\n\nGr\xfc\xdfe\n")
    with pytest.raises(BuildError, match=r"^ch\.md:3: not UTF-8"):
        read_document(root, "ch.md", TABS)
