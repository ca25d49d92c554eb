"""#@save: d2lbook's extents (whole statements kept where d2lbook would cut one), layout, names, notes, bad marks."""

from __future__ import annotations

import pytest

from d2lbuild.errors import BuildError
from d2lbuild.formatting import CodeFormatter
from d2lbuild.saving import saved_blocks
from d2lbuild.source import Document, read_markdown, split_lines
from d2lbuild.transforms import select_tab

TABS = ("mxnet", "pytorch", "tensorflow")


def blocks_and_warnings(text: str, tab: str = "mxnet"):
    document = Document("ch.md", tuple(read_markdown("ch.md", split_lines(text), TABS)))
    warnings: list = []
    found = saved_blocks(document, tab, select_tab(document, tab), CodeFormatter(), warnings)
    return found, [str(warning) for warning in warnings]


def blocks(text: str, tab: str = "mxnet"):
    return blocks_and_warnings(text, tab)[0]


def cell(code: str, label: str = "") -> str:
    """A code cell; with a label, a section heading two cells above it (d2lbook skips the cell just above)."""
    head = f"# S\n:label:`{label}`\n\n```{{.python .input}}\nx = 0\n```\n\nText.\n\n" if label else ""
    return f"{head}```{{.python .input}}\n{code}```\n"


def test_trailing_mark_saves_its_line_the_column_0_lines_after_it_then_the_indented_ones():
    (block,) = blocks(cell("@functools.cache  #@save\ndef f(x):\n    return x\n\ny = 1\n"))
    assert block.text == "@functools.cache\ndef f(x):\n    return x"
    assert block.names == ("f",) and block.kind == "def"


def test_column_0_lines_right_after_the_mark_are_saved_too():
    (block,) = blocks(cell("x = 1  #@save\ny = 2\nif x:\n    z = 3\nw = 4\n"))
    assert block.text == "x = 1\ny = 2\nif x:\n    z = 3"


def test_mark_alone_saves_the_code_below_it_up_to_a_blank_line_or_the_next_column_0_line_after_a_body():
    code = "%matplotlib inline\n#@save\nimport os\nimport sys as system\n\nunsaved = 1\n"
    (block,) = blocks(cell(code))
    assert block.text == "import os\nimport sys as system"
    assert block.names == ("os", "system") and block.kind == "import"
    (only_f,) = blocks(cell("#@save\ndef f():\n    return 1\ndef g():\n    return 2\n"))
    assert only_f.text == "def f():\n    return 1"


def test_several_marks_in_a_cell_make_one_block_with_the_blank_lines_between():
    (block,) = blocks(cell("def f():  #@save\n    return 1\n\ndef g():  #@save\n    return 2\n"))
    assert block.text == "def f():\n    return 1\n\ndef g():\n    return 2"
    assert block.names == ("f", "g")


def test_marks_in_a_row_save_each_line_once_and_warn_where_d2lbook_writes_lines_twice():
    found, warnings = blocks_and_warnings(cell('HUB = {}  #@save\nHUB["a"] = 1  #@save\nHUB["b"] = 2  #@save\n'))
    assert [block.text for block in found] == ['HUB = {}\nHUB["a"] = 1\nHUB["b"] = 2']
    assert warnings == ["ch.md:3: warning: this #@save line is saved by the #@save above it already; d2lbook would write it twice, so it is saved once"]


def test_a_statement_continued_at_column_0_is_kept_whole_with_a_warning():
    code = "CONFIG = dict(  #@save\n    a=1,\n)\n\nTEXT = '''  #@save\nnot code\n'''\n\nother = 2\n"
    (block,), warnings = blocks_and_warnings(cell(code))
    assert block.text == "CONFIG = dict(\n    a=1,\n)\nTEXT = '''\nnot code\n'''"
    compile(block.text, "lib", "exec")
    message = "warning: this line continues a saved statement at column 0; d2lbook would drop it, so it is kept"
    assert warnings == [f"ch.md:4: {message}"]  # the string's own lines are saved by d2lbook's reading already


def test_imports_are_sorted_by_isort_in_one_run_and_trailing_spaces_dropped():
    (block,) = blocks(cell("#@save\nimport torch   \nimport os\nfrom torch import nn\nimport numpy as np\n"))
    assert block.text == "import os\nimport numpy as np\nimport torch\nfrom torch import nn"


def test_mark_is_removed_and_lines_keep_chapter_numbers():
    (block,) = blocks(cell("x = 1\ndef g():    #@save\n    pass\n"))
    assert "@save" not in block.text
    assert [line.number for line in block.lines] == [3, 4]


def test_defined_in_note_goes_after_the_first_line_with_a_closing_parenthesis_and_colon():
    code = 'def f():  #@save\n    """Do f."""\n    return 1\n\nclass C:  #@save\n    x = 1\n    def m(self):\n        pass\n'
    (block,) = blocks(cell(code, "sec_here"))
    assert block.text == (
        'def f():\n    """Do f.\n\n    Defined in :numref:`sec_here`"""\n    return 1\n\n'
        'class C:\n    x = 1\n    def m(self):\n        """Defined in :numref:`sec_here`"""\n        pass'
    )


def test_a_docstring_over_several_lines_gets_a_note_of_its_own_before_it():
    (block,) = blocks(cell('def f(x):  #@save\n    """First.\n    Second."""\n    return x\n', "sec_here"))
    assert block.text.splitlines()[1:3] == ['    """Defined in :numref:`sec_here`"""', '    """First.']


def test_docstring_followed_by_spaces_still_gets_its_note_inside():
    (block,) = blocks(cell('def f():  #@save\n    """Do f."""   \n    return 1\n', "sec_here"))
    assert block.text == 'def f():\n    """Do f.\n\n    Defined in :numref:`sec_here`"""\n    return 1'
    compile(block.text, "lib", "exec")


def test_note_label_contains_sec_and_skips_the_cell_just_above():
    text = "# A\n:label:`sec_a`\n\n" + cell("x = 0\n") + "\n## B\n:label:`subsec_b`\n:label:`fig_x`\n\n" + cell("def g():  #@save\n    pass\n")
    (block,) = blocks(text)
    assert "sec_a" in block.text  # subsec_b sits in the Markdown cell just above the code cell
    text = "# A\n:label:`sec_a`\n\n## B\n:label:`subsec_b`\n\n" + cell("x = 0\n") + "\nMore.\n\n" + cell("def g():  #@save\n    pass\n")
    (block,) = blocks(text)
    assert "subsec_b" in block.text


def test_subscript_attribute_and_augmented_assignments_bind_no_name():
    (block,) = blocks(cell("d2l.DATA_HUB['a'] = (1, 2)  #@save\nd2l.x.y = 3\nz += 1\nw = 4\n"))
    assert block.names == ("w",) and block.kind == "code"


def test_save_in_a_cell_that_does_not_parse():
    with pytest.raises(BuildError, match=r"^ch\.md:2: #@save is used, but the cell does not parse"):
        blocks(cell("def f(:  #@save\n    pass\n"))


@pytest.mark.parametrize(("code", "line"), [("x = 1\n#@save\n\ny = 2\n", 3)])
def test_save_marking_nothing_warns_and_saves_nothing(code, line):
    found, warnings = blocks_and_warnings(cell(code))
    assert found == []
    assert warnings == [f"ch.md:{line}: warning: #@save marks nothing: no code follows it before a blank line"]
