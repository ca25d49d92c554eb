"""Synthetic books for the benchmarks: many sections, three tabs, cells shaped like the real ones."""

from __future__ import annotations

from pathlib import Path

TABS = ("pytorch", "tensorflow", "mxnet")
CONFIG = """\
[project]
release = 0.0.1

[build]
index = index
notebooks = **/*.md
tabs = pytorch, tensorflow, mxnet

[library]
version_file = d2l/__init__.py

[library-pytorch]
lib_file = d2l/torch.py
lib_name = torch
simple_alias = zeros, ones, tensor, arange, exp, matmul
fluent_alias = numpy -> detach().numpy, reshape, reduce_sum -> sum

[library-tensorflow]
lib_file = d2l/tensorflow.py
lib_name = tf
simple_alias = zeros, ones, tensor -> constant, arange -> range, exp, matmul, reshape, reduce_sum
fluent_alias = numpy

[library-mxnet]
lib_file = d2l/mxnet.py
lib_name = np
simple_alias = zeros, ones, tensor -> array, arange, exp, matmul -> dot
fluent_alias = numpy -> asnumpy, reshape, reduce_sum -> sum
"""

PROSE = (
    "This paragraph explains the idea of section {s} in a few sentences, with a formula "
    "$\\mathbf{{y}} = \\mathbf{{X}}\\mathbf{{w}} + b$ and a reference to :numref:`sec_{s}`. "
    "It is long enough to look like real prose and to cost real parsing time.\n"
)


def section(number: int) -> str:
    """One section: prose, tab blocks, and a dozen code cells over three tabs."""
    parts = [f"# Section {number}\n:label:`sec_{number}`\n\n", PROSE.format(s=number) * 3, "\n"]
    for tab in TABS:
        parts.append(f":begin_tab:`{tab}`\nNotes that only readers of {tab} see.\n:end_tab:\n\n")
    parts.append("```{.python .input}\n#@tab pytorch\n%matplotlib inline\nfrom d2l import torch as d2l\nimport torch\n```\n\n")
    tf_imports = "from d2l import tensorflow as d2l\nimport tensorflow as tf"
    parts.append(f"```{{.python .input}}\n#@tab tensorflow\n%matplotlib inline\n{tf_imports}\n```\n\n")
    parts.append("```{.python .input}\n#@tab mxnet\n%matplotlib inline\nfrom d2l import mxnet as d2l\nfrom mxnet import np\n```\n\n")
    for cell in range(4):
        parts.append(PROSE.format(s=number) + "\n")
        parts.append(
            "```{.python .input}\n#@tab all\n"
            f"x{cell} = d2l.reshape(d2l.arange(12), (3, 4))\n"
            f"y{cell} = d2l.exp(x{cell}) + d2l.ones((3, 4))\n"
            f"print(d2l.numpy(d2l.reduce_sum(y{cell})))\n```\n\n"
        )
    parts.append(
        "```{.python .input}\n#@tab all\n"
        f"class Model{number}:  #@save\n"
        f'    """A model defined in section {number}."""\n'
        "    def __init__(self, size):\n"
        "        self.size = size\n"
        "        if tab.selected('pytorch'):\n"
        "            self.kind = 'torch'\n"
        "        else:\n"
        "            self.kind = 'other'\n```\n\n"
    )
    parts.append(
        "```{.python .input}\n#@tab all\n"
        f"@d2l.add_to_class(Model{number})  #@save\n"
        "def forward(self, X):\n"
        "    return d2l.matmul(X, d2l.ones((self.size, 1)))\n```\n\n"
    )
    for tab in TABS:
        parts.append(
            f"```{{.python .input}}\n#@tab {tab}\n"
            f"def helper_{number}(values, scale=1.0):  #@save\n"
            "    total = 0\n"
            "    for value in values:\n"
            "        total += value * scale\n"
            "    return total\n```\n\n"
        )
    return "".join(parts)


def write_synthetic_book(root: Path, sections: int, per_chapter: int = 10) -> Path:
    """A book of ``sections`` sections in chapters of ``per_chapter``, with an index toc."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.ini").write_text(CONFIG)
    chapters = []
    for start in range(0, sections, per_chapter):
        name = f"chapter_{start // per_chapter:03d}"
        chapters.append(f"{name}/index")
        folder = root / name
        folder.mkdir(exist_ok=True)
        entries = []
        for number in range(start, min(start + per_chapter, sections)):
            (folder / f"section_{number:03d}.md").write_text(section(number))
            entries.append(f"section_{number:03d}")
        (folder / "index.md").write_text(f"# Chapter {start // per_chapter}\n\n```toc\n" + "\n".join(entries) + "\n```\n")
    (root / "index.md").write_text("# Synthetic book\n\n```toc\n:maxdepth: 2\n\n" + "\n".join(chapters) + "\n```\n")
    return root
