"""Uses of the library the cache key once missed: after editing what they use, a cached eval runs them again."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_book

from d2lbuild.config import load_config
from d2lbuild.evaluate import EvalOptions, evaluate, prepare_tab
from d2lbuild.report import PlainProgress

CONFIG = """\
[build]
index = index
notebooks = ch/*.md
non-notebooks = ch/lib.md
tabs = pytorch

[eval]
timeout = 30
"""

LIBRARY = """\
# Library

```{.python .input}
def add_to_class(Class):  #@save
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)
    return wrapper

def g(x):  #@save
    return 4 * x

@add_to_class(__import__('argparse').Namespace)  #@save
def h(self, x):
    return 4 * x
```
"""

NOTEBOOKS = {
    "ch/magic.md": "# M\n\n```{.python .input}\nfrom d2l import torch as d2l\n%time print('G', d2l.g(1))\n```\n",
    "ch/cellmagic.md": "# C\n\n```{.python .input}\n%%time\nfrom d2l import torch as d2l\nprint('G', d2l.g(1))\n```\n",
    "ch/string.md": "# S\n\n```{.python .input}\nfrom d2l import torch as d2l\nprint('G', eval('d2l.g(1)'))\n```\n",
    "ch/method.md": "# H\n\n```{.python .input}\nimport argparse\nfrom d2l import torch as d2l\nprint('G', argparse.Namespace().h(1))\n```\n",
    "ch/sibling.md": "# X\n\n```{.python .input}\nfrom d2l import extra\nprint('G', extra.value())\n```\n",
    "ch/plain.md": "# P\n\n```{.python .input}\nprint('G', 1)\n```\n",
}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = write_book(tmp_path_factory.mktemp("passes") / "book", {"ch/lib.md": LIBRARY, **NOTEBOOKS}, config=CONFIG)
    (root / "d2l").mkdir()
    (root / "d2l/extra.py").write_text("def value():\n    return 4\n")
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=2), lambda total: PlainProgress(total, lines.append), log=lines.append)
    assert {r.job.chapter: r.status.value for r in outcome.results} == dict.fromkeys(NOTEBOOKS, "ok"), lines
    return root


def would_run(root: Path) -> set[str]:
    plan, _, _ = prepare_tab(load_config(root), "pytorch", EvalOptions(workers=2), log=lambda line: None)
    return {job.chapter for job in plan.jobs}


@pytest.mark.parametrize(
    "path, old, new, affected",
    [
        ("ch/lib.md", "return 4 * x\n\n@add", "return 202 * x\n\n@add", {"ch/magic.md", "ch/cellmagic.md", "ch/string.md"}),
        ("ch/lib.md", "return 4 * x\n```", "return 202 * x\n```", {"ch/method.md", "ch/magic.md", "ch/cellmagic.md", "ch/string.md"}),
        ("d2l/extra.py", "return 4", "return 202", {"ch/sibling.md"}),
    ],
)
def test_an_edit_runs_every_notebook_whose_output_it_changes(evaluated, path, old, new, affected):
    file = evaluated / path
    text = file.read_text()
    file.write_text(text.replace(old, new, 1))
    try:
        assert affected <= would_run(evaluated)
        assert "ch/plain.md" not in would_run(evaluated)
    finally:
        file.write_text(text)
    assert would_run(evaluated) == set()


def test_a_sibling_module_the_library_imports_is_part_of_what_its_import_runs(tmp_path):
    from d2lbuild.cache import library_facts

    root = tmp_path
    (root / "d2l").mkdir()
    (root / "d2l/torch.py").write_text("from d2l import extra\n")
    (root / "d2l/extra.py").write_text("A = 1\n")
    (root / "d2l/mxnet.py").write_text("B = 1\n")
    before = library_facts(root, "d2l/torch.py", {}).import_digest
    (root / "d2l/extra.py").write_text("A = 2\n")
    assert library_facts(root, "d2l/torch.py", {}).import_digest != before
    (root / "d2l/torch.py").write_text("import collections\n")
    alone = library_facts(root, "d2l/torch.py", {}).import_digest
    (root / "d2l/mxnet.py").write_text("B = 2\n")  # another tab's library, not imported: no effect
    assert library_facts(root, "d2l/torch.py", {}).import_digest == alone
