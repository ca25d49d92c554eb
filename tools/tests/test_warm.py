"""Warm kernels: forked from a template that preloaded modules, yet each notebook a fresh process."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run, write_book

from d2lbuild.config import parse_config
from d2lbuild.errors import BuildError
from d2lbuild.evaluate import EvalOptions, evaluate
from d2lbuild.report import PlainProgress
from d2lbuild.runner import KernelLauncher, socket_folder
from d2lbuild.warm import Template, WarmKernels, library_preload

REPO = Path(__file__).resolve().parents[2]

# wave: a module that neither a kernel nor these notebooks import by themselves, so its presence shows a warm kernel
CONFIG = """\
[build]
index = index
notebooks = **/*.md
tabs = pytorch

[eval]
timeout = 30
preload = wave, d2l, no_such_module_here
"""

LIBRARY = """\
# Library

```{.python .input}
def double(x):  #@save
    return 2 * x
```
"""


def cell(*lines: str) -> str:
    return "```{.python .input}\n" + "\n".join(lines) + "\n```\n"


def eval_book(root: Path, workers: int = 1, **options):
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=workers, force=True, **options), lambda total: PlainProgress(total, lines.append),
                       log=lines.append)
    return {r.job.chapter: r for r in outcome.results}, lines


def printed(root: Path, chapter: str) -> list[str]:
    notebook = json.loads((root / "build/eval/pytorch" / chapter.replace(".md", ".ipynb")).read_text())
    return "".join("".join(out.get("text", "")) for c in notebook["cells"] for out in c.get("outputs", [])).split()


def test_default_preload_is_the_librarys_third_party_module_level_imports(tmp_path):
    (tmp_path / "d2l").mkdir()
    (tmp_path / "helpers.py").write_text("")
    library = tmp_path / "d2l" / "torch.py"
    library.write_text(
        "import collections, os\nimport numpy as np\nimport torch.nn.functional as F\nfrom torch import nn\n"
        "from matplotlib import pyplot as plt\nfrom d2l import torch as d2l\nimport helpers\nfrom . import sibling\n"
        "try:\n    import pandas\nexcept ImportError:\n    pass\n\ndef later():\n    import scipy\n\nimport numpy\nimport re\n"
    )
    assert library_preload(library, tmp_path) == ("numpy", "torch.nn.functional", "torch.nn", "matplotlib.pyplot")


def test_preload_config():
    def preload(value: str):
        config = parse_config(f"[build]\ntabs = pytorch\n[eval]\npreload = {value}\n[eval-pytorch]\n", Path("."))
        return config.eval_settings("pytorch").preload

    assert preload("none") == ()
    assert preload("numpy, matplotlib.pyplot\n torch") == ("numpy", "matplotlib.pyplot", "torch")
    assert parse_config("[build]\ntabs = pytorch\n", Path(".")).eval_settings("pytorch").preload is None
    with pytest.raises(BuildError, match=r"config.ini:4: \[eval\] preload: 'no-such' is not a module name"):
        preload("numpy no-such")


@pytest.fixture
def isolation_book(tmp_path):
    files = {
        "ch/lib.md": LIBRARY,
        "ch/a.md": "# A\n\n" + cell(
            "import random, sys",
            "print('wave' in sys.modules, 'd2l' in sys.modules)",
            "import wave",
            "wave.changed_by_a = 1",
            "SET_BY_A = 1",
            "print(random.random())",
            "import d2l, os",
            "with open(os.path.join(list(d2l.__path__)[0], '..', 'late_module.py'), 'w') as f:",
            "    f.write('CHANGED_WHILE_TEMPLATE_ALIVE = 7\\n')",
        ),
        "ch/b.md": "# B\n\n" + cell(
            "import random, sys, wave",
            "print(hasattr(wave, 'changed_by_a'), 'SET_BY_A' in globals())",
            "print(random.random())",
            "import late_module",
            "print(late_module.CHANGED_WHILE_TEMPLATE_ALIVE)",
        ),
    }
    return write_book(tmp_path / "book", files, config=CONFIG)


def test_each_notebook_is_a_fresh_fork_of_the_template(isolation_book):
    results, log = eval_book(isolation_book)
    assert {r.status for r in results.values()} == {"ok"}, [r.reason for r in results.values()]
    a, b = printed(isolation_book, "ch/a.md"), printed(isolation_book, "ch/b.md")
    assert a[:2] == ["True", "False"]  # wave preloaded; d2l never, though listed
    assert b[:2] == ["False", "False"]  # nothing A did is visible in B, run next in the same worker
    assert a[2] != b[2]  # unseeded randomness differs
    assert b[3] == "7"  # the book's modules as they are on disk now (an edit of the library itself discards the run)
    assert [line for line in log if "warm kernels" in line] == [
        "warm kernels: cannot preload no_such_module_here (ModuleNotFoundError: No module named 'no_such_module_here'); dropped"
    ]
    report = json.loads((isolation_book / "build/eval/pytorch/report.json").read_text())
    assert report["preload"] == ["wave", "no_such_module_here"]


def test_cold_kernels_and_the_preload_list_in_the_cache_key(isolation_book):
    lines: list[str] = []

    def run(**options):
        outcome = evaluate(isolation_book, EvalOptions(workers=1, **options), lambda total: PlainProgress(total, lines.append), log=lines.append)
        return {r.status for r in outcome.results if r.job.chapter == "ch/lib.md"}

    assert run() == {"ok"}
    assert run() == {"cached"}
    lines.clear()
    assert run(cold=True) == {"ok"}  # another preload list: another key
    assert printed(isolation_book, "ch/a.md")[:2] == ["False", "False"]  # a new interpreter: nothing preloaded
    assert not [line for line in lines if "warm kernels" in line]


FAILING = {
    "ch/raise.md": "# R\n\n" + cell("raise ValueError('broken on purpose')"),
    "ch/hang.md": "# H\n\n" + cell("import time", "time.sleep(60)"),
    "ch/exit.md": "# E\n\n" + cell("import os", "os._exit(3)"),
    "ch/segv.md": "# S\n\n" + cell("import os, signal", "os.kill(os.getpid(), signal.SIGSEGV)"),
    "ch/oom.md": "# O\n\n" + cell("import os, signal", "os.kill(os.getpid(), signal.SIGKILL)"),
    "ch/memory.md": "# M\n\n" + cell("x = bytearray(1 << 62)"),
    "ch/fine.md": "# F\n\n" + cell("import sys", "print('wave' in sys.modules)"),
}


def test_failures_fail_only_their_notebook_with_the_right_reason(tmp_path):
    config = CONFIG.replace("timeout = 30", "timeout = 30\ntimeouts =\n    ch/hang.md = 2")
    root = write_book(tmp_path / "book", FAILING, config=config)
    results, log = eval_book(root, workers=2)
    reasons = {chapter: r.reason for chapter, r in results.items() if r.status == "failed"}
    assert reasons == {
        "ch/raise.md": "ch/raise.md:4: ValueError: broken on purpose",
        "ch/hang.md": "ch/hang.md:4: cell timed out after 2 s",
        "ch/exit.md": "ch/exit.md:4: the kernel died: it exited with status 3",
        "ch/segv.md": "ch/segv.md:4: the kernel died: killed by SIGSEGV",
        "ch/oom.md": "ch/oom.md:4: the kernel died: killed by SIGKILL (out of memory?)",
        "ch/memory.md": "ch/memory.md:4: MemoryError:",
    }
    assert printed(root, "ch/fine.md") == ["True"]  # it ran warm
    assert not [line for line in log if "warm kernels off" in line]


def test_a_killed_template_leaves_cold_kernels_that_pass(tmp_path):
    files = {"ch/n0.md": "# N\n\n" + cell("import os, signal, sys, time", "os.kill(os.getppid(), signal.SIGKILL)", "time.sleep(0.5)",
                                          "print('wave' in sys.modules)")}
    files.update({f"ch/n{n}.md": "# N\n\n" + cell("import sys", "print('wave' in sys.modules)") for n in range(1, 4)})
    root = write_book(tmp_path / "book", files, config=CONFIG)
    results, log = eval_book(root)
    assert {r.status for r in results.values()} == {"ok"}, [r.reason for r in results.values()]
    assert printed(root, "ch/n0.md") == ["True"]
    assert printed(root, "ch/n3.md") == ["False"]  # a cold kernel
    assert [line for line in log if "warm kernels off" in line] == [
        "warm kernels off: the template process died (killed by SIGKILL); kernels start cold"
    ]


def test_a_template_that_cannot_start_falls_back_to_cold_kernels(tmp_path, monkeypatch):
    root = write_book(tmp_path / "book", {"ch/n.md": "# N\n\n" + cell("print(1)")}, config=CONFIG)
    broken = tmp_path / "template.py"
    broken.write_text("raise SystemExit(5)\n")
    monkeypatch.setattr("d2lbuild.warm.TEMPLATE_SCRIPT", broken)
    results, log = eval_book(root)
    assert results["ch/n.md"].status == "ok"
    assert [line for line in log if "warm kernels" in line] == [
        "warm kernels off: the template process failed: the template process exited with status 5 while importing; kernels start cold"
    ]


@pytest.fixture
def spawned(monkeypatch) -> list:
    """The process of every template started from now on."""
    started = []
    spawn = Template.spawn

    def recorded(self, cwd):
        spawn(self, cwd)
        started.append(self.process)

    monkeypatch.setattr(Template, "spawn", recorded)
    return started


def test_the_template_starts_before_the_preparation_and_ends_when_it_fails(tmp_path, spawned):
    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n\n" + cell("def f(:  #@save", "    pass")}, config=CONFIG)
    with pytest.raises(BuildError, match="does not parse"):
        eval_book(root)
    assert len(spawned) == 1 and spawned[0].poll() is not None


def test_a_template_starts_only_when_a_notebook_runs(tmp_path, spawned):
    files = {"ch/a.md": "# A\n\n" + cell("print(1)"), "ch/b.md": "# B\n\n" + cell("import sys", "print('wave' in sys.modules)")}
    root = write_book(tmp_path / "book", files, config=CONFIG)
    lines: list[str] = []

    def run() -> dict[str, str]:
        outcome = evaluate(root, EvalOptions(workers=1), lambda total: PlainProgress(total, lines.append), log=lines.append)
        return {r.job.chapter: r.status for r in outcome.results}

    assert set(run().values()) == {"ok"} and len(spawned) == 1
    assert run() == {"ch/a.md": "cached", "ch/b.md": "cached", "index.md": "cached"}
    assert len(spawned) == 1  # nothing ran: no template started
    (root / "ch/b.md").write_text("# B\n\n" + cell("import sys", "print('wave' in sys.modules, 2)"))
    assert run() == {"ch/a.md": "cached", "ch/b.md": "ok", "index.md": "cached"}
    assert len(spawned) == 2 and printed(root, "ch/b.md") == ["True", "2"]  # the one that ran, warm
    assert all(process.poll() is not None for process in spawned)
    assert not [line for line in lines if "warm kernels off" in line]


def test_a_warm_kernel_has_every_thread_limit_tensorflow_reads(tmp_path):
    names = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    root = write_book(tmp_path / "book", {"ch/n.md": "# N\n\n" + cell("import os, sys", "print('wave' in sys.modules)",
                                                                       f"print(*[os.environ.get(n) for n in {names}])")}, config=CONFIG)
    results, _ = eval_book(root, workers=2)
    assert results["ch/n.md"].status == "ok"
    warm, *limits = printed(root, "ch/n.md")
    assert warm == "True" and len(set(limits)) == 1 and limits[0].isdigit(), limits


def test_a_warm_kernel_is_interrupted_like_any_kernel(tmp_path):
    async def scenario():
        sockets = socket_folder()
        warm = WarmKernels(sys.executable, {}, ("wave",), str(tmp_path), sockets, print)
        launcher = KernelLauncher("pytorch", sys.executable, {}, str(tmp_path), sockets, warm)
        manager = await launcher.start(0)
        try:
            assert manager.provisioner.__class__.__name__ == "WarmProvisioner"
            client = manager.client()
            client.start_channels()
            await client.wait_for_ready(timeout=30)
            client.execute("import time\ntime.sleep(30)")
            await asyncio.sleep(1)
            await manager.interrupt_kernel()
            reply = await client.get_shell_msg(timeout=10)
            assert reply["content"]["ename"] == "KeyboardInterrupt"
            assert await still_alive(client)
            await manager.restart_kernel(now=True)
            assert await manager.is_alive()
            client.stop_channels()
        finally:
            await manager.shutdown_kernel(now=True)
            assert not await manager.is_alive()
            await launcher.close()
            shutil.rmtree(sockets, ignore_errors=True)

    asyncio.run(scenario())


async def still_alive(client) -> bool:
    """Whether the kernel runs a cell; ipykernel aborts the requests that reach it just after an error, so try again."""
    for _ in range(20):
        client.execute("print('still alive')")
        status = (await client.get_shell_msg(timeout=10))["content"]["status"]
        if status != "aborted":
            return status == "ok"
        await asyncio.sleep(0.05)
    return False


def framework_python(module: str) -> str:
    """An interpreter that can import ``module``: this one, or the tab environment ``make env`` creates."""
    candidates = [sys.executable, str(REPO / "build/envs/pytorch/bin/python")]
    for python in candidates:
        if Path(python).exists() and subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0:
            return python
    pytest.skip(f"{module} is not importable (make env TAB=pytorch creates an environment with it)")


def test_torch_state_and_generators_are_fresh_in_every_notebook(tmp_path):
    python = framework_python("torch")
    library = "# L\n\n" + cell("import numpy as np  #@save", "import torch  #@save", "from matplotlib import pyplot as plt  #@save")
    draw = ["import numpy as np, random, torch", "print(torch.get_default_dtype(), torch.rand(1).item(), np.random.rand(), random.random())"]
    files = {
        "ch/lib.md": library,
        "ch/a.md": "# A\n\n" + cell("import sys", "print('torch' in sys.modules)", *draw, "torch.set_default_dtype(torch.float64)"),
        "ch/b.md": "# B\n\n" + cell("import sys", "print('torch' in sys.modules)", *draw),
        "ch/plot.md": "# P\n\n" + cell("from matplotlib import pyplot as plt", "plt.plot([1, 2, 3])"),
    }
    root = write_book(tmp_path / "book", files, config=CONFIG.replace("preload = wave, d2l, no_such_module_here", f"python = {python}"))
    results, _ = eval_book(root)
    assert {r.status for r in results.values()} == {"ok"}, [r.reason for r in results.values()]
    a, b = printed(root, "ch/a.md"), printed(root, "ch/b.md")
    assert a[0] == b[0] == "True"  # warm: torch was there before the first cell
    assert a[1] == b[1] == "torch.float32"
    assert all(x != y for x, y in zip(a[2:], b[2:], strict=True)), (a, b)
    plot = json.loads((root / "build/eval/pytorch/ch/plot.ipynb").read_text())
    assert any("image/png" in out.get("data", {}) for c in plot["cells"] for out in c.get("outputs", []))


def test_without_fork_kernels_start_cold(tmp_path, monkeypatch):
    root = write_book(tmp_path / "book", {"ch/n.md": "# N\n\n" + cell("import sys", "print('wave' in sys.modules)")}, config=CONFIG)
    monkeypatch.delattr("os.fork")
    results, log = eval_book(root)
    assert results["ch/n.md"].status == "ok" and printed(root, "ch/n.md") == ["False"]
    assert [line for line in log if "warm kernels" in line] == ["warm kernels off: fork is not available on this platform; kernels start cold"]


def test_a_forked_kernel_that_does_not_come_up_falls_back_to_cold_kernels(tmp_path, monkeypatch):
    root = write_book(tmp_path / "book", {"ch/n.md": "# N\n\n" + cell("import sys", "print('wave' in sys.modules)")}, config=CONFIG)
    failing = tmp_path / "template.py"
    failing.write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'tools/d2lbuild')!r})\nimport warm_template\n"
        "def broken(argv):\n    raise SystemExit(4)\n"
        "warm_template.run_kernel = broken\nwarm_template.main()\n"
    )
    monkeypatch.setattr("d2lbuild.warm.TEMPLATE_SCRIPT", failing)
    results, log = eval_book(root)
    assert results["ch/n.md"].status == "ok" and printed(root, "ch/n.md") == ["False"]
    assert [line for line in log if "warm kernels off" in line] == [
        "warm kernels off: a forked kernel did not come up (Kernel died before replying to kernel_info); kernels start cold"
    ]


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_a_library_edit_that_keeps_size_and_time_is_seen_by_the_next_eval(tmp_path, monkeypatch, cold):
    """Kernels, warm or cold, import the library byte-compiled by the tab's interpreter before they start, checked
    by the source's hash: Python's own bytecode, checked by size and time, would keep running the old library
    after such an edit."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # kernels may write bytecode, as on most machines
    library_chapter = "# Library\n\n" + cell("def which():  #@save", "    return 'first'")
    files = {"ch/lib.md": library_chapter, "ch/a.md": "# A\n\n" + cell("from d2l import torch as d2l", "print(d2l.which())")}
    root = write_book(tmp_path / "book", files, config=CONFIG)
    results, _ = eval_book(root, cold=cold)
    assert results["ch/a.md"].status == "ok" and printed(root, "ch/a.md") == ["first"]
    library = root / "d2l" / "torch.py"
    [bytecode] = (root / "d2l" / "__pycache__").glob("torch.*.pyc")
    assert int.from_bytes(bytecode.read_bytes()[4:8], "little") == 0b11  # checked against the source's hash
    before = library.stat()
    (root / "ch/lib.md").write_text(library_chapter.replace("first", "later"))
    assert run(root, "extract").exit_code == 0
    assert library.stat().st_size == before.st_size
    os.utime(library, ns=(before.st_atime_ns, before.st_mtime_ns))  # saved within the same second, say
    results, _ = eval_book(root, cold=cold)
    assert results["ch/a.md"].status == "ok" and printed(root, "ch/a.md") == ["later"]
