"""Failure lines: every traceback frame in a notebook cell names its chapter line, warm and cold kernels."""

from __future__ import annotations

import pytest
from conftest import run, write_book

CONFIG = "[build]\nindex = index\nnotebooks = **/*.md\ntabs = pytorch\n\n[eval]\ntimeout = 30\n"

# line 8 raises inside f, defined in an earlier cell; line 14 calls it
EARLIER_CELL = """\
# Lines

```{.python .input}
def f():
    y = 1
    z = 2
    w = 3
    raise ValueError('deep')
```

Prose between.

```{.python .input}
f()
```
"""

# a first cell shifts the kernel's counts; g (line 14) calls h (line 9) across two earlier cells
CHAIN = """\
# Chain

```{.python .input}
x = 1
```

```{.python .input}
def h():
    return 1 / 0
```

```{.python .input}
def g():
    return h()
```

Prose.

```{.python .input}
print('before')
g()
```
"""


@pytest.fixture(scope="module", params=["warm", "cold"])
def line_run(request, tmp_path_factory):
    root = write_book(tmp_path_factory.mktemp(request.param) / "book", {"ch/earlier.md": EARLIER_CELL, "ch/chain.md": CHAIN}, config=CONFIG)
    args = ["eval", "-j", "2"] + (["--cold"] if request.param == "cold" else [])
    return run(root, *args)


def test_the_failed_line_names_the_raise_and_the_call_site(line_run):
    assert line_run.exit_code == 1
    assert "FAILED ch/earlier.md:8: ValueError: deep (called at ch/earlier.md:14)" in line_run.stderr
    assert "FAILED ch/chain.md:9: ZeroDivisionError: division by zero (called at ch/chain.md:21)" in line_run.stderr


def test_every_cell_frame_names_its_chapter_line(line_run):
    trace = line_run.stderr.split("FAILED ch/chain.md")[1].split("FAILED")[0]
    frames = [line for line in trace.splitlines() if line.startswith("Cell In[")]
    assert len(frames) == 3
    assert [frame.rsplit("[at ", 1)[1] for frame in frames] == ["ch/chain.md:21]", "ch/chain.md:14]", "ch/chain.md:9]"]


def test_frames_map_by_the_failing_cells_count_whatever_the_kernel_counted_before():
    """Counts follow the failing cell's own: a kernel that ran cells before the notebook (count 7 for its third cell)
    still maps each frame to its cell; empty cells never reach the kernel; a syntax error's frame is indented."""
    from d2lbuild.tracemap import annotate_cell_frames, cells_by_count, failure_positions

    def cell(source: str, line: int) -> dict:
        return {"cell_type": "code", "source": source, "metadata": {"d2lbuild": {"path": "ch/x.md", "line": line}}}

    cells = [cell("def f():\n    raise ValueError", 4), cell("  \n", 9), {"cell_type": "markdown", "source": "x"}, cell("y = 1", 12), cell("f()", 20)]
    trace = "Cell In[8], line 1\n----> 1 f()\n\nCell In[6], line 2, in f()\n----> 2     raise ValueError\n\nValueError: "
    by_count = cells_by_count(trace, cells, cells[-1])
    assert {count: c["metadata"]["d2lbuild"]["line"] for count, c in by_count.items()} == {8: 20, 7: 12, 6: 4}
    assert [str(p) for p in failure_positions(trace, by_count)] == ["ch/x.md:5", "ch/x.md:20"]
    assert "Cell In[6], line 2, in f()  [at ch/x.md:5]" in annotate_cell_frames(trace, by_count)
    syntax = "  Cell In[8], line 1\n    f(\n     ^\nSyntaxError: '(' was never closed"
    by_count = cells_by_count(syntax, cells, cells[-1])
    assert failure_positions(syntax, by_count)[0].line == 20 and "  Cell In[8], line 1  [at ch/x.md:20]" in annotate_cell_frames(syntax, by_count)
