"""#@save: extents from Python's parser, names, docstring notes, and bad marks."""

from __future__ import annotations

import pytest

from d2lbuild.errors import BuildError
from d2lbuild.saving import saved_blocks
from d2lbuild.source import read_markdown, split_lines

TABS = ("mxnet", "pytorch", "tensorflow")


def blocks(text: str):
    return saved_blocks(read_markdown("ch.md", split_lines(text), TABS))


def cell(code: str, label: str = "") -> str:
    head = f"# S\n:label:`{label}`\n\n" if label else ""
    return f"{head}```{{.python .input}}\n{code}```\n"


def test_trailing_mark_saves_the_whole_statement_with_decorators():
    (block,) = blocks(cell("@functools.cache\ndef f(x):  #@save\n    return x\n\ny = 1\n"))
    assert block.text == "@functools.cache\ndef f(x):\n    return x"
    assert block.names == ("f",) and block.kind == "def"


def test_extent_follows_the_parser_not_indentation():
    code = "CONFIG = dict(  #@save\n    a=1,\n)\nTEXT = '''\nnot code\n'''  #@save\n\nother = 2\n"
    first, second = blocks(cell(code))
    assert first.text == "CONFIG = dict(\n    a=1,\n)"
    assert second.text == "TEXT = '''\nnot code\n'''"


def test_mark_in_a_nested_line_saves_the_top_level_statement():
    (block,) = blocks(cell("class A:\n    def f(self):\n        return 1  #@save\n\nB = 2\n"))
    assert block.text.startswith("class A:") and block.names == ("A",)


def test_mark_alone_saves_statements_up_to_the_next_blank_line():
    code = "%matplotlib inline\n#@save\nimport os\n# a comment\nimport sys as system\n\nunsaved = 1\n"
    (block,) = blocks(cell(code))
    assert block.text == "import os\n# a comment\nimport sys as system"
    assert block.names == ("os", "system") and block.kind == "import"


def test_mark_is_removed_and_lines_keep_chapter_numbers():
    (block,) = blocks(cell("x = 1\ndef g():    #@save\n    pass\n"))
    assert "@save" not in block.text
    assert [line.number for line in block.lines] == [3, 4]


def test_defined_in_note_is_added_to_existing_and_missing_docstrings():
    code = 'def f():  #@save\n    """Do f."""\n    return 1\n\nclass C:  #@save\n    x = 1\n\ndef g():  #@save\n    "One line."\n'
    f, c, g = blocks(cell(code, "sec_here"))
    assert f.text == 'def f():\n    """Do f.\n\n    Defined in :numref:`sec_here`"""\n    return 1'
    assert c.text == 'class C:\n    """Defined in :numref:`sec_here`"""\n    x = 1'
    assert g.text == 'def g():\n    "One line.\\n\\nDefined in :numref:`sec_here`"'


def test_note_uses_the_latest_section_label_above():
    text = "# A\n:label:`sec_a`\n\n" + cell("def f():  #@save\n    pass\n") + "\n# B\n:label:`sec_b`\n:label:`fig_x`\n\n" + cell("def g():  #@save\n    pass\n")
    f, g = blocks(text)
    assert "sec_a" in f.text and "sec_b" in g.text


def test_add_to_class_is_recorded():
    (block,) = blocks(cell("@d2l.add_to_class(Model)  #@save\ndef step(self):\n    pass\n"))
    assert block.add_to == "Model" and block.decorator_lines == 1


def test_save_in_a_cell_that_does_not_parse():
    with pytest.raises(BuildError, match=r"^ch\.md:2: #@save is used, but the cell does not parse"):
        blocks(cell("def f(:  #@save\n    pass\n"))


@pytest.mark.parametrize(("code", "line"), [("x = 1\n#@save\n\ny = 2\n", 3), ("x = 1\n# just a comment  #@save\n", 3)])
def test_save_marking_no_statement(code, line):
    with pytest.raises(BuildError, match=rf"^ch\.md:{line}: #@save marks no statement"):
        blocks(cell(code))
