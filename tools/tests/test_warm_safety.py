"""The warm template forks only when that is safe, and its bookkeeping of children survives many short kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_book

from d2lbuild.evaluate import EvalOptions, evaluate
from d2lbuild.report import PlainProgress
from d2lbuild.warm import TEMPLATE_SCRIPT

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux", reason="warm kernels fork (Linux)")

CONFIG = """\
[build]
index = index
notebooks = ch/*.md
tabs = pytorch

[eval]
timeout = 60
preload = {preload}
"""

PRINTS = "# {name}\n\n```{{.python .input}}\nimport random, sys\nprint(random.random(), {extra})\n```\n"


def evaluate_book(root: Path, site: Path, monkeypatch) -> tuple[dict, list[str]]:
    monkeypatch.setenv("PYTHONPATH", str(site))
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=1, force=True), lambda total: PlainProgress(total, lines.append), log=lines.append)
    return {r.job.chapter: r.status.value for r in outcome.results}, lines


def printed(root: Path, chapter: str) -> list[str]:
    notebook = json.loads((root / "build/eval/pytorch" / chapter.replace(".md", ".ipynb")).read_text())
    return "".join("".join(out.get("text", "")) for c in notebook["cells"] for out in c.get("outputs", [])).split()


def test_a_template_with_a_second_thread_refuses_to_fork_and_says_why(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "threaded.py").write_text("import threading, time\nthreading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n")
    files = {"ch/a.md": PRINTS.format(name="A", extra="'threaded' in sys.modules")}
    root = write_book(tmp_path / "book", files, config=CONFIG.format(preload="threaded"))
    statuses, lines = evaluate_book(root, site, monkeypatch)
    assert statuses == {"ch/a.md": "ok"}
    assert printed(root, "ch/a.md")[1] == "False"  # a cold kernel: nothing preloaded
    refusals = [line for line in lines if line.startswith("warm kernels off")]
    assert refusals == [
        "warm kernels off: the template process failed: the template runs 2 threads after preloading (a fork copies only one); kernels start cold"
    ]


def test_every_kernel_draws_fresh_numbers_from_every_preloaded_generator(tmp_path, monkeypatch):
    numpy = pytest.importorskip("numpy")
    assert numpy
    extra = "__import__('numpy').random.random()"
    files = {f"ch/{name}.md": PRINTS.format(name=name, extra=extra) for name in ("a", "b", "c")}
    root = write_book(tmp_path / "book", files, config=CONFIG.format(preload="numpy"))
    statuses, lines = evaluate_book(root, tmp_path, monkeypatch)
    assert set(statuses.values()) == {"ok"}, lines
    draws = [printed(root, chapter) for chapter in files]
    assert len({draw[0] for draw in draws}) == 3 and len({draw[1] for draw in draws}) == 3


def test_many_short_kernels_and_the_exit_loop_race_nothing(tmp_path):
    """Children that end while others are forked, and while the template's exit loop walks them."""
    errors = (tmp_path / "stderr").open("w")
    process = subprocess.Popen([sys.executable, str(TEMPLATE_SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=errors, text=True, cwd=tmp_path, start_new_session=True)
    process.stdin.write(json.dumps({"preload": []}) + "\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["event"] == "ready"
    short = [sys.executable, "-m", "ipykernel_launcher", "--version"]  # prints its version and exits
    for number in range(40):
        argv = short if number % 2 else [sys.executable, "-m", "ipykernel_launcher", "-f", str(tmp_path / f"k{number}.json"),
                                         "--IPKernelApp.transport=ipc", f"--ip={tmp_path / f'k{number}'}"]  # runs until killed
        process.stdin.write(json.dumps({"fork": number, "argv": argv, "env": dict(os.environ), "cwd": str(tmp_path)}) + "\n")
    process.stdin.flush()
    events = []
    while sum(event["event"] == "forked" for event in events) < 40:
        events.append(json.loads(process.stdout.readline()))
    process.stdin.close()  # the exit loop kills the running kernels: their SIGCHLDs arrive while it walks them
    events += [json.loads(line) for line in process.stdout]
    process.wait(timeout=120)
    errors.close()
    err = (tmp_path / "stderr").read_text()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "changed size" not in err
    forked = {event["pid"] for event in events if event["event"] == "forked"}
    assert len(forked) == 40
    exited = {event["pid"] for event in events if event["event"] == "exit"}
    assert exited <= forked
