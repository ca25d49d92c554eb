"""Random edits of a small book: after each, a cached eval reports what ``--force`` reports, notebook by notebook.

D2LBUILD_EDITS (default 2) sets the number of edits and D2LBUILD_SEED the random seed, for longer runs.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from conftest import write_book

from d2lbuild.evaluate import EvalOptions, evaluate
from d2lbuild.report import PlainProgress

CONFIG = """\
[build]
index = index
notebooks = ch/*.md
non-notebooks = ch/lib.md
tabs = pytorch
resources = data/

[eval]
timeout = 30
env =
    FLAG = {flag}
"""

LIBRARY = """\
# Library

```{{.python .input}}
def f(x):  #@save
    return {f_body}

def g(x={g_default}):  #@save
    return x

LIMIT = {limit}  #@save
```
"""

USES_F = {
    "attribute": "from d2l import torch as d2l\nassert d2l.f(1) == 1",
    "from": "from d2l.torch import f\nassert f(1) == 1",
}

NOTEBOOKS = {
    "ch/uses_f.md": "# F\n\n```{{.python .input}}\nimport os\n{uses_f}\nassert os.environ['FLAG'] == '1'\nassert open('../data/v.txt').read() == 'ok'\n```\n",
    "ch/uses_g.md": "# G\n\n```{.python .input}\nfrom d2l.torch import g\nassert g() == 0\n```\n",
    "ch/uses_limit.md": "# L\n\n```{.python .input}\nimport d2l.torch as t\nassert t.LIMIT > 0\n```\n",
}

# Each knob of the book and the values an edit may give it: the first value of each lets every notebook pass.
KNOBS = {
    "f_body": ["x", "x + 1", "x * 1"],
    "g_default": ["0", "1", "1 // 0", "int('0')"],
    "limit": ["1", "0", "2"],
    "flag": ["1", "2"],
    "resource": ["ok", "bad"],
    "uses_f": ["attribute", "from"],
}


def write(root: Path, state: dict[str, str]) -> None:
    files = {"ch/lib.md": LIBRARY.format(**state), **NOTEBOOKS}
    files["ch/uses_f.md"] = files["ch/uses_f.md"].format(uses_f=USES_F[state["uses_f"]])
    write_book(root, files, config=CONFIG.format(**state))
    (root / "data").mkdir(exist_ok=True)
    (root / "data/v.txt").write_text(state["resource"])


def statuses(root: Path, force: bool) -> dict[str, str]:
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=2, force=force), lambda total: PlainProgress(total, lines.append), log=lines.append)
    return {r.job.chapter: "ok" if r.status.value == "cached" else r.status.value for r in outcome.results}


def test_cached_eval_agrees_with_force_after_random_edits(tmp_path):
    seed = int(os.environ.get("D2LBUILD_SEED", "8"))
    edits = int(os.environ.get("D2LBUILD_EDITS", "2"))
    rng = random.Random(seed)
    state = {knob: values[0] for knob, values in KNOBS.items()}
    root = tmp_path / "book"
    write(root, state)
    assert set(statuses(root, force=False).values()) == {"ok"}
    for number in range(edits):
        for knob in rng.sample(sorted(KNOBS), rng.randint(1, 2)):
            state[knob] = rng.choice([value for value in KNOBS[knob] if value != state[knob]])
        write(root, state)
        cached = statuses(root, force=False)
        forced = statuses(root, force=True)
        assert cached == forced, f"seed {seed}, edit {number + 1}: {state}"
