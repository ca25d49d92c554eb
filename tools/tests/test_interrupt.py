"""Stopping an eval with SIGINT or SIGTERM: no new notebook starts, kernels end, every report is written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_book

CONFIG = """\
[build]
index = index
notebooks = ch/*.md
tabs = pytorch
"""

SLOW = "# Slow {n}\n\n```{{.python .input}}\nimport subprocess, time\nchild = subprocess.Popen(['sleep', '60'])\ntime.sleep(5)\n```\n"


def start_eval(root: Path, tmp_path: Path, *args: str) -> subprocess.Popen:
    """``d2lbuild eval`` in a process of its own, as a user starts it (kernels in this interpreter)."""
    sockets = tmp_path / "tmp"
    sockets.mkdir()
    env = {**os.environ, "CI": "1", "TMPDIR": str(sockets)}
    command = [sys.executable, "-m", "d2lbuild", "--root", str(root), "eval", "-j", "2", "--junit", str(root / "junit.xml"), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def processes_under(root: Path) -> list[str]:
    """Kernels and the processes their cells started: everything whose working folder is in the book."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cwd = os.readlink(proc / "cwd")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if cwd.startswith(str(root / "build")) and state != "Z":
            found.append(proc.name)
    return found


@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_eval_cleanly(tmp_path, number, status):
    root = write_book(tmp_path / "book", {f"ch/slow{n}.md": SLOW.format(n=n) for n in range(4)}, config=CONFIG)
    process = start_eval(root, tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (root / "build/eval/pytorch/ch").is_dir():
        time.sleep(0.05)  # the first notebook has been taken
    time.sleep(2)
    process.send_signal(number)
    signalled = time.monotonic()
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert time.monotonic() - signalled < 8
    report = json.loads((root / "build/eval/pytorch/report.json").read_text())
    statuses = sorted(n["status"] for n in report["notebooks"])
    assert statuses == ["interrupted", "interrupted", "not run", "not run"], err
    assert 'skipped="4"' in (root / "junit.xml").read_text()
    assert processes_under(root) == []  # kernels and the `sleep 60` their cells started
    assert list((tmp_path / "tmp").iterdir()) == []  # the socket folder
    assert not list((root / "build").rglob("*.tmp")) and not list((root / "build").rglob("*.failed.ipynb"))
    assert not (root / "build/eval/pytorch/cache.json").exists()  # nothing recorded for interrupted notebooks


def test_a_second_ctrl_c_stops_at_once(tmp_path):
    root = write_book(tmp_path / "book", {f"ch/slow{n}.md": SLOW.format(n=n) for n in range(2)}, config=CONFIG)
    process = start_eval(root, tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([p for p in processes_under(root)]) < 4:
        time.sleep(0.05)  # both cells started their child
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    process.communicate(timeout=30)
    assert process.returncode == 130
    assert time.monotonic() - signalled < 2
    time.sleep(0.3)
    assert processes_under(root) == []
    assert not list((root / "build").rglob("*.tmp"))
