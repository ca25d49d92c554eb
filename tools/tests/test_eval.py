"""d2lbuild eval with real kernels of this interpreter (no framework needed)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest
from conftest import run, write_book

from d2lbuild.envs import Environment
from d2lbuild.evaluate import EvalOptions, evaluate
from d2lbuild.report import PlainProgress

CONFIG = """\
[build]
index = index
notebooks = **/*.md
tabs = pytorch
resources = data/

[eval]
timeout = 30
timeouts =
    ch/hang.md = 2
"""

LIBRARY_SECTION = """\
# Library
:label:`sec_lib`

```{.python .input}
def double(x):  #@save
    return 2 * x

def explode():  #@save
    return 1 / 0

def uses_double(x):  #@save
    return d2l.double(x) + 1
```
"""

USER = """\
# {name}

Some prose.

```{{.python .input}}
from d2l import torch as d2l
print(d2l.{call})
```
"""


def eval_book(root: Path, **options):
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=2, **options), lambda total: PlainProgress(total, lines.append), log=lines.append)
    return {r.job.chapter: r for r in outcome.results}, lines


@pytest.fixture
def good_book(tmp_path):
    files = {
        "ch/lib.md": LIBRARY_SECTION,
        "ch/uses_double.md": USER.format(name="Double", call="double(21)"),
        "ch/uses_chain.md": USER.format(name="Chain", call="uses_double(1)"),
        "ch/plain.md": "# Plain\n\n```{.python .input}\nprint(open('../data/words.txt').read())\n```\n",
    }
    root = write_book(tmp_path / "book", files, config=CONFIG)
    (root / "data").mkdir()
    (root / "data/words.txt").write_text("hello from data\n")
    return root


def outputs(root: Path, chapter: str) -> str:
    notebook = json.loads((root / "build/eval/pytorch" / chapter.replace(".md", ".ipynb")).read_text())
    return "".join("".join(out.get("text", "")) for cell in notebook["cells"] for out in cell.get("outputs", []))


def test_every_notebook_runs_against_the_repository_library(good_book):
    results, _ = eval_book(good_book)
    assert {chapter: r.status for chapter, r in results.items()} == dict.fromkeys(
        ["ch/lib.md", "ch/uses_double.md", "ch/uses_chain.md", "ch/plain.md", "index.md"], "ok"
    )
    assert outputs(good_book, "ch/uses_double.md").strip() == "42"
    assert outputs(good_book, "ch/plain.md").strip() == "hello from data"  # resources reachable from the chapter folder
    report = json.loads((good_book / "build/eval/pytorch/report.json").read_text())
    assert {n["chapter"] for n in report["notebooks"]} == set(results)


def test_repository_library_wins_over_an_installed_copy(good_book, tmp_path, monkeypatch):
    decoy = tmp_path / "site" / "d2l"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("")
    (decoy / "torch.py").write_text("def double(x):\n    return 'decoy'\n")
    monkeypatch.setenv("PYTHONPATH", str(decoy.parent))
    (good_book / "ch/where.md").write_text("```{.python .input}\nfrom d2l import torch as d2l\nprint(d2l.__file__)\nprint(d2l.double(1))\n```\n")
    (good_book / "index.md").write_text((good_book / "index.md").read_text().replace("```\n", "ch/where\n```\n", 1).replace("\n```", "\n```", 1))
    results, _ = eval_book(good_book)
    assert results["ch/where.md"].status == "ok"
    printed = outputs(good_book, "ch/where.md").split()
    assert printed == [str(good_book / "d2l" / "torch.py"), "2"]


def test_second_run_is_cached_and_prose_edits_run_nothing(good_book):
    eval_book(good_book)
    text = (good_book / "ch/uses_double.md").read_text()
    (good_book / "ch/uses_double.md").write_text(text.replace("Some prose.", "Other words entirely."))
    results, _ = eval_book(good_book)
    assert {r.status for r in results.values()} == {"cached"}


def test_editing_a_saved_function_reruns_exactly_its_users(good_book):
    eval_book(good_book)
    text = (good_book / "ch/lib.md").read_text()
    (good_book / "ch/lib.md").write_text(text.replace("return 2 * x", "return x + x"))
    results, _ = eval_book(good_book)
    ran = {chapter for chapter, r in results.items() if r.status != "cached"}
    assert ran == {"ch/lib.md", "ch/uses_double.md", "ch/uses_chain.md"}  # the chain reaches double through uses_double
    assert results["ch/uses_chain.md"].depends_on == ["double", "uses_double"]


def test_environment_change_reruns_everything(good_book, monkeypatch):
    eval_book(good_book)
    monkeypatch.setattr("d2lbuild.evaluate.ensure_environment", lambda config, tab, log: Environment(tab, sys.executable, "changed"))
    results, _ = eval_book(good_book)
    assert {r.status for r in results.values()} == {"ok"}


def test_force_ignores_the_cache(good_book):
    eval_book(good_book)
    results, _ = eval_book(good_book, force=True)
    assert {r.status for r in results.values()} == {"ok"}


FAILING = {
    "ch/raise.md": "# R\n\n```{.python .input}\nx = 1\n\nraise ValueError('broken on purpose')\n```\n",
    "ch/hang.md": "# H\n\n```{.python .input}\nimport time\ntime.sleep(60)\n```\n",
    "ch/exit.md": "# E\n\n```{.python .input}\nprint('before')\n```\n\n```{.python .input}\nimport os\nos._exit(3)\n```\n",
    "ch/segv.md": "# S\n\n```{.python .input}\nimport os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n```\n",
    "ch/lib.md": LIBRARY_SECTION,
    "ch/deep.md": "# D\n\n```{.python .input}\nfrom d2l import torch as d2l\n\nd2l.explode()\n```\n",
    "ch/fine.md": "# F\n\n```{.python .input}\nprint('fine')\n```\n",
}


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    root = write_book(tmp_path_factory.mktemp("failing") / "book", FAILING, config=CONFIG)
    assert run(root, "extract").exit_code == 0
    (root / "build/eval/pytorch/ch").mkdir(parents=True)
    (root / "build/eval/pytorch/ch/raise.ipynb").write_text("last good result")
    junit = root / "junit.xml"
    result = run(root, "eval", "-j", "2", "--junit", str(junit))
    return root, result


def test_failures_exit_1_and_others_still_run(failing_run):
    root, result = failing_run
    assert result.exit_code == 1
    assert "7 notebooks: 3 ran ok, 0 cached, 4 failed" not in result.stdout  # index, lib and fine pass; five fail
    assert "8 notebooks: 3 ran ok, 0 cached, 5 failed" in result.stdout
    assert (root / "build/eval/pytorch/ch/fine.ipynb").is_file()


@pytest.mark.parametrize(
    "expected",
    [
        "FAILED ch/raise.md:6: ValueError: broken on purpose",
        "FAILED ch/hang.md:4: cell timed out after 2 s",
        "FAILED ch/exit.md:8: the kernel died: it exited with status 3",
        "FAILED ch/segv.md:4: the kernel died: killed by SIGSEGV",
        "FAILED ch/deep.md:6: ZeroDivisionError: division by zero",
    ],
)
def test_each_failure_names_its_chapter_line(failing_run, expected):
    _, result = failing_run
    assert expected in result.stderr


def test_library_frames_name_the_line_that_saved_them(failing_run):
    _, result = failing_run
    trace = result.stderr.split("FAILED ch/deep.md:6")[1].split("FAILED")[0]
    assert "d2l/torch.py:" in trace and "[saved at ch/lib.md:9]" in trace


def test_failed_run_keeps_the_last_good_result(failing_run):
    root, _ = failing_run
    assert (root / "build/eval/pytorch/ch/raise.ipynb").read_text() == "last good result"
    assert (root / "build/eval/pytorch/ch/raise.failed.ipynb").is_file()


def test_report_and_junit(failing_run):
    root, _ = failing_run
    report = json.loads((root / "build/eval/pytorch/report.json").read_text())
    statuses = {n["chapter"]: n["status"] for n in report["notebooks"]}
    assert statuses["ch/exit.md"] == "failed" and statuses["ch/fine.md"] == "ok"
    junit = (root / "junit.xml").read_text()
    assert 'tests="8" failures="5"' in junit and "broken on purpose" in junit


def test_fake_gpus_each_gpu_notebook_gets_its_own(tmp_path):
    gpu_cell = "# G{n}\n\n```{{.python .input}}\nimport os, time\nd2l_try = 'd2l.try_gpu'\nprint(os.environ['CUDA_VISIBLE_DEVICES'] or 'none')\ntime.sleep(1)\n```\n"
    files = {f"ch/g{n}.md": gpu_cell.format(n=n).replace("d2l_try = 'd2l.try_gpu'", "if False: d2l.try_gpu()") for n in range(3)}
    files["ch/cpu.md"] = "# C\n\n```{.python .input}\nimport os\nprint(os.environ['CUDA_VISIBLE_DEVICES'] or 'none')\n```\n"
    root = write_book(tmp_path / "book", files, config=CONFIG)
    results, _ = eval_book(root, gpus=("0", "1"))
    assert {results[f"ch/g{n}.md"].gpu for n in range(3)} <= {"0", "1"}
    assert all(results[f"ch/g{n}.md"].job.gpu_reason == "calls d2l.try_gpu" for n in range(3))
    for n in range(3):
        assert outputs(root, f"ch/g{n}.md").strip() == results[f"ch/g{n}.md"].gpu
    assert outputs(root, "ch/cpu.md").strip() == "none" and results["ch/cpu.md"].gpu is None
    results, _ = eval_book(root, gpus=("0", "1"), device="cpu", force=True)
    assert all(outputs(root, f"ch/g{n}.md").strip() == "none" for n in range(3))


def test_a_kernel_whose_shutdown_fails_still_has_its_zmq_context_closed(tmp_path, monkeypatch):
    """jupyter_client's shutdown raises before it closes the manager's sockets when the kernel was already gone
    (ProcessLookupError from its interrupt, say); the context is closed all the same."""
    from d2lbuild.runner import KernelLauncher, kernel_process_group, kill_group, shutdown, socket_folder

    sockets = socket_folder()

    async def scenario():
        launcher = KernelLauncher("pytorch", sys.executable, {}, str(tmp_path), sockets)
        manager = await launcher.start(0)
        kill_group(kernel_process_group(manager))

        async def gone(now=False, restart=False):
            raise ProcessLookupError(3, "No such process")

        monkeypatch.setattr(manager, "shutdown_kernel", gone)
        await shutdown(manager)
        return manager

    try:
        manager = asyncio.run(scenario())
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    assert manager.context.closed
