"""Tab selection, tab branches and aliases."""

from __future__ import annotations

import pytest

from d2lbuild.aliases import rewrite_aliases
from d2lbuild.config import TabLibrary
from d2lbuild.source import Document, read_markdown, split_lines
from d2lbuild.transforms import resolve_branches, select_tab

TABS = ("mxnet", "pytorch", "tensorflow")


def code(text: str, mark: str = "#@tab all"):
    (cell,) = read_markdown("ch.md", split_lines(f"```{{.python .input}}\n{mark}\n{text}```\n"), TABS)
    return cell


BRANCHES = """\
x = 0
if tab.selected('pytorch', 'tensorflow'):
    x = 1
    # still the branch
    y = [
        1, 2]

else:
    x = 2
z = x
"""


@pytest.mark.parametrize(("tab", "expected"), [("pytorch", "x = 0\nx = 1\n# still the branch\ny = [\n    1, 2]\n\nz = x"), ("mxnet", "x = 0\nx = 2\nz = x")])
def test_tab_branch_keeps_the_matching_body_dedented(tab, expected):
    assert resolve_branches(code(BRANCHES), tab).text == expected


def test_tab_branch_keeps_chapter_line_numbers():
    cell = resolve_branches(code(BRANCHES), "mxnet")
    assert [line.number for line in cell.lines] == [3, 11, 12]


def test_nested_branches_and_legacy_flags():
    text = "def f():\n    if d2l.USE_MXNET:\n        return 1\n    if tab.selected('pytorch'):\n        return 2\n    return 3\n"
    assert resolve_branches(code(text), "pytorch").text == "def f():\n    return 2\n    return 3"
    assert resolve_branches(code(text), "tensorflow").text == "def f():\n    return 3"


def test_elif_chain():
    text = "if tab.selected('mxnet'):\n    a = 1\nelif tab.selected('pytorch'):\n    a = 2\nelse:\n    a = 3\n"
    assert [resolve_branches(code(text), tab).text for tab in TABS] == ["a = 1", "a = 2", "a = 3"]


def test_dropped_only_statement_leaves_pass():
    text = "for i in range(2):\n    if tab.selected('mxnet'):\n        print(i)\n"
    assert resolve_branches(code(text), "pytorch").text == "for i in range(2):\n    pass"


def test_branches_are_regions_of_lines_that_do_not_nest_as_in_d2lbook():
    text = (
        "class M:\n    if tab.selected('mxnet', 'tensorflow'):\n        def __init__(self):\n            self.a = 1\n"
        "        if tab.selected('tensorflow'):\n            self.training = None\n\n    if tab.selected('jax'):\n        x: int\n\n"
        "    def f(self):\n        pass\n"
    )
    assert resolve_branches(code(text), "tensorflow").text == (
        "class M:\n    def __init__(self):\n        self.a = 1\n        self.training = None\n\n    def f(self):\n        pass"
    )
    assert resolve_branches(code(text), "mxnet").text == "class M:\n    def __init__(self):\n        self.a = 1\n    def f(self):\n        pass"


def test_tests_joined_by_or_and_trailing_spaces():
    text = "if tab.selected('pytorch') or tab.selected('mxnet'):   \n    a = 1\nb = 2\n"
    assert resolve_branches(code(text), "mxnet").text == "a = 1\nb = 2"
    assert resolve_branches(code(text), "tensorflow").text == "b = 2"


def test_branch_in_unparsable_cell_is_resolved_line_by_line():
    assert resolve_branches(code("if tab.selected('mxnet'):\n    x = (\n"), "mxnet").text == "x = ("


def test_select_tab_drops_helpers_and_other_tabs():
    text = "```{.python .input}\n%load_ext d2lbook.tab\n```\n\n```{.python .input}\n#@tab pytorch\na = 1\n```\n\n```{.python .input}\nb = 2\n```\n:begin_tab:`mxnet`\nm\n:end_tab:\n"
    document = Document("ch.md", tuple(read_markdown("ch.md", split_lines(text), TABS)))
    assert [c.text for c in select_tab(document, "pytorch")] == ["a = 1"]
    assert [c.text.strip() for c in select_tab(document, "mxnet")] == ["b = 2", "m"]


TORCH = TabLibrary(
    "pytorch",
    "d2l/torch.py",
    "torch",
    simple_alias=(("zeros", "zeros"), ("concat", "cat")),
    fluent_alias=(("numpy", "detach().numpy"), ("reshape", "reshape"), ("reduce_sum", "sum")),
    args_alias=(("astype", "tf.cast(x, args)"), ("size", "x.size")),
    reverse_alias=(("show(", "print("), ("d2l.to", "jax.device_put")),
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("d2l.zeros((2, 3))", "torch.zeros((2, 3))"),
        ("d2l.concat([a, b])", "torch.cat([a, b])"),
        ("d2l.numpy(x)", "x.detach().numpy()"),
        ("d2l.reshape(a + b, (2, -1))", "(a + b).reshape((2, -1))"),
        ("d2l.reshape(d2l.numpy(d2l.zeros(4)), (2, 2))", "torch.zeros(4).detach().numpy().reshape((2, 2))"),
        ("d2l.astype(y, d2l.concat)", "tf.cast(y, torch.cat)"),
        ("d2l.size(y)", "y.size"),
        ("d2l.reshape(x, ')')", "x.reshape(')')"),
        ("show(d2l.Timer())", "print(d2l.Timer())"),
        ("my.d2l.zeros(1)", "my.d2l.zeros(1)"),
        ("d2l.zeroslike(1)", "d2l.zeroslike(1)"),
        ("d2l.to(x) + d2l.tokenize(s)", "jax.device_put(x) + d2l.tokenize(s)"),
        ("d2l.reduce_sum(x**2) / 2  # w**2", "(x ** 2).sum() / 2  # w**2"),
        ("y = d2l.reshape(x,\n    (2, 2))\nz = 1", "y = x.reshape((2, 2))\nz = 1"),
        ("d2l.reshape(x, (-1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20))",
         "x.reshape((-1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, \n    19, 20))"),
    ],
)
def test_aliases(source, expected):
    assert rewrite_aliases(source, TORCH) == expected


def test_call_aliases_deep_in_a_cell_and_spread_over_lines():
    source = "def f(x):\n    if x:\n        return d2l .numpy (\n            x)\n    return d2l.reshape(x, (2, 2))\ny = (d2l).numpy(z)"
    expected = "def f(x):\n    if x:\n        return x.detach().numpy()\n    return x.reshape((2, 2))\ny = z.detach().numpy()"
    assert rewrite_aliases(source, TORCH) == expected


def test_simple_aliases_prefer_the_longest_name():
    lib = TabLibrary("pytorch", "d2l/torch.py", "torch", simple_alias=(("zeros", "zeros"), ("zeros_like", "zeros_like"), ("ones", "full")))
    assert rewrite_aliases("d2l.zeros_like(x) + d2l.zeros(2) + d2l.ones_x", lib) == "torch.zeros_like(x) + torch.zeros(2) + d2l.ones_x"


def test_simple_alias_with_a_parenthesis_rewrites_calls_only():
    lib = TabLibrary("pytorch", "d2l/torch.py", "torch", simple_alias=(("exp(", "exp("),))
    assert rewrite_aliases("d2l.exp(x) + d2l.expand_dims(x) + d2l.exp", lib) == "torch.exp(x) + d2l.expand_dims(x) + d2l.exp"


def test_tab_branch_in_a_conditional_expression():
    text = "size = 3 if tab.selected('tensorflow') else 1\nprint(size)\n"
    assert resolve_branches(code(text), "tensorflow").text == "size = (3)\nprint(size)"
    assert resolve_branches(code(text), "mxnet").text == "size = (1)\nprint(size)"
