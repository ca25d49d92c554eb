"""Commands and edits interleaved with an eval: the next cached eval still equals ``--force``."""

from __future__ import annotations

import json
import threading
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
timeout = 60
"""

LIBRARY = "# Library\n\n```{.python .input}\ndef g(x):  #@save\n    return 4 * x\n```\n"

# runs first (-j 1, notebooks in path order); once per book (a marker in build/), it edits ``target`` as given
EDIT_ONCE = """\
# A

```{{.python .input}}
import pathlib
root = pathlib.Path('../../../..').resolve()
marker = root / 'build/edited'
if not marker.exists():
    marker.write_text('once')
    target = root / {target!r}
    target.write_text(target.read_text().replace({old!r}, {new!r}))
```
"""


def eval_once(root: Path, force: bool = False) -> dict[str, tuple[str, str]]:
    """Each chapter's status and the text its cells printed (from the result, or the failed copy)."""
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=1, force=force), lambda total: PlainProgress(total, lines.append), log=lines.append)
    found = {}
    for result in outcome.results:
        status = "ok" if result.status.value in ("ok", "cached") else result.status.value
        path = root / result.job.result
        path = path if status == "ok" else path.with_suffix(".failed.ipynb")
        printed = ""
        if path.is_file():
            cells = json.loads(path.read_text())["cells"]
            texts = [out.get("text", "") for cell in cells for out in cell.get("outputs", [])]
            printed = "".join(text if isinstance(text, str) else "".join(text) for text in texts)
        found[result.job.chapter] = (status, printed)
    return found


def test_a_notebook_rewritten_after_planning_runs_as_it_was_keyed(tmp_path):
    chapters = {
        "ch/a.md": EDIT_ONCE.format(target="build/notebooks/pytorch/ch/b.ipynb", old="assert False", new="assert True"),
        "ch/b.md": "# B\n\n```{.python .input}\nprint('B ran')\nassert False\n```\n",
    }
    root = write_book(tmp_path / "book", chapters, config=CONFIG)
    first = eval_once(root)
    assert first["ch/b.md"][0] == "failed"  # the bytes planned, not those written while a ran
    cached, forced = eval_once(root), eval_once(root, force=True)
    assert cached == forced and cached["ch/b.md"][0] == "failed"


def test_a_library_edited_during_an_eval_discards_the_runs_that_may_have_seen_it(tmp_path):
    chapters = {
        "ch/lib.md": LIBRARY,
        "ch/a.md": EDIT_ONCE.format(target="d2l/torch.py", old="return 4 * x", new="return 202 * x"),
        "ch/b.md": "# B\n\n```{.python .input}\nfrom d2l import torch as d2l\nprint('G', d2l.g(1))\n```\n",
    }
    root = write_book(tmp_path / "book", chapters, config=CONFIG)
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=1), lambda total: PlainProgress(total, lines.append), log=lines.append)
    changed = {r.job.chapter: r for r in outcome.results}
    assert changed["ch/b.md"].failure.value == "inputs changed"
    assert "the library or the resources changed while it ran" in changed["ch/b.md"].reason
    assert not (root / changed["ch/b.md"].job.result).exists()
    cached, forced = eval_once(root), eval_once(root, force=True)
    assert cached == forced and cached["ch/b.md"] == ("ok", "G 4\n")


def test_a_result_edited_by_hand_is_not_served(tmp_path):
    chapters = {"ch/b.md": "# B\n\n```{.python .input}\nprint('G', 4)\n```\n"}
    root = write_book(tmp_path / "book", chapters, config=CONFIG)
    assert eval_once(root)["ch/b.md"] == ("ok", "G 4\n")
    result = root / "build/eval/pytorch/ch/b.ipynb"
    result.write_text(result.read_text().replace("G 4", "G 202"))  # as Jupyter would save a re-run
    plan, _, _ = prepare_tab(load_config(root), "pytorch", EvalOptions(workers=1), log=lambda line: None)
    assert [job.chapter for job in plan.jobs] == ["ch/b.md"]
    assert eval_once(root)["ch/b.md"] == ("ok", "G 4\n")


WAITING = "build/.lock: another d2lbuild command is writing build/; waiting for it to finish"


def stderr_until(capfd, message: str) -> str:
    """What the commands wrote to stderr until ``message`` appeared (or a minute passed)."""
    seen = ""
    for _ in range(1200):
        seen += capfd.readouterr().err
        if message in seen:
            break
        threading.Event().wait(0.05)
    return seen


def test_notebooks_during_an_eval_waits_for_it_saying_so(tmp_path, capfd):
    from d2lbuild.pipeline import build_notebooks

    waits = "# W\n\n```{.python .input}\nimport pathlib, time\npathlib.Path('started').write_text('')\nwhile not pathlib.Path('go').exists():\n    time.sleep(0.05)\n```\n"
    root = write_book(tmp_path / "book", {"ch/w.md": waits}, config=CONFIG)
    finished: list[str] = []
    lines: list[str] = []

    def run_eval():
        evaluate(root, EvalOptions(workers=1), lambda total: PlainProgress(total, lines.append), log=lines.append)
        finished.append("eval")

    def run_notebooks():
        build_notebooks(root)
        finished.append("notebooks")

    evaluation = threading.Thread(target=run_eval)
    evaluation.start()
    cwd = root / "build/eval/pytorch/ch"
    for _ in range(1200):  # the kernel has entered the cell
        if (cwd / "started").exists() or not evaluation.is_alive():
            break
        threading.Event().wait(0.05)
    assert (cwd / "started").exists(), lines
    notebooks = threading.Thread(target=run_notebooks)
    notebooks.start()
    assert WAITING in stderr_until(capfd, WAITING) and notebooks.is_alive() and finished == []
    (cwd / "go").write_text("")
    evaluation.join(120)
    notebooks.join(120)
    assert finished == ["eval", "notebooks"]


def _edit(root: Path) -> None:
    from d2lbuild.edit import edit

    edit(root, "ch/a.md")


def _sync(root: Path) -> None:
    from d2lbuild.sync import sync

    sync(root)


def _sync_from_library(root: Path) -> None:
    from d2lbuild.library_sync import sync_from_library

    sync_from_library(root)


def _pdf(root: Path) -> None:
    from d2lbuild.pdf.build import build_pdf

    build_pdf(root)


@pytest.mark.parametrize("command", [_edit, _sync, _sync_from_library, _pdf], ids=lambda command: command.__name__[1:])
def test_edit_sync_and_pdf_wait_for_a_command_holding_the_book(tmp_path, capfd, command):
    from d2lbuild.booklock import book_lock

    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n\n```{.python .input}\nprint('a')\n```\n"}, config=CONFIG)
    holding, release = threading.Event(), threading.Event()
    done: list[str] = []

    def hold():
        with book_lock(root):
            holding.set()
            release.wait(60)
        done.append("holder")

    def run():
        try:
            command(root)
        except Exception:  # a missing TeX, say: the order is what counts here
            pass
        done.append("command")

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(60)
    runner = threading.Thread(target=run)
    runner.start()
    assert WAITING in stderr_until(capfd, WAITING) and runner.is_alive() and done == []
    release.set()
    holder.join(60)
    runner.join(120)
    assert done == ["holder", "command"]
