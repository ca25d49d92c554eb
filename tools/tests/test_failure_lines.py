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
