"""Processes cells start end with the eval, also those that left their kernel's process group (setsid, a double
fork); SIGHUP stops an eval as SIGTERM does."""

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

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.skipif(sys.platform != "linux" or not Path("/usr/bin/setsid").exists(), reason="needs Linux and setsid")

CONFIG = """\
[build]
index = index
notebooks = ch/*.md
tabs = pytorch

[eval]
timeout = 120
"""

# starts a child in a session of its own and a double-forked grandchild, writes their IDs, then waits for ``go``
ESCAPES = """\
# Escapes

```{{.python .input}}
import os, pathlib, subprocess, time
escaped = subprocess.Popen(['setsid', 'sleep', '300']).pid
if os.fork() == 0:
    if os.fork() == 0:
        os.execvp('sleep', ['sleep', '301'])
    os._exit(0)
time.sleep(0.2)
orphan = int(subprocess.run(['pgrep', '-n', '-f', 'sleep 301'], capture_output=True, text=True).stdout.split()[0])
pathlib.Path('pids').write_text(f'{{escaped}} {{orphan}}')
while {wait} and not pathlib.Path('go').exists():
    time.sleep(0.05)
```
"""


def start(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CI": "1"}
    command = [sys.executable, "-m", "d2lbuild", "--root", str(root), "eval", "-j", "1", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(path: Path, process: subprocess.Popen) -> list[int]:
    """The IDs the cell wrote (polling a file the cell writes; the eval failing ends the wait)."""
    for _ in range(2400):
        if path.is_file() and path.read_text().strip():
            return [int(pid) for pid in path.read_text().split()]
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(process.communicate()[1] if process.poll() is not None else f"{path} never appeared")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.parametrize("cold", [False, True])
def test_processes_that_left_the_kernels_group_end_with_the_eval(tmp_path, cold):
    root = write_book(tmp_path / "book", {"ch/a.md": ESCAPES.format(wait=False)}, config=CONFIG)
    process = start(root, *(["--cold"] if cold else []))
    out, err = process.communicate(timeout=240)  # returns once the pipes close: no process holds them
    assert process.returncode == 0, out + err
    pids = [int(pid) for pid in (root / "build/eval/pytorch/ch/pids").read_text().split()]
    try:
        assert not any(alive(pid) for pid in pids)
    finally:
        kill_all(pids)


def test_sighup_stops_the_eval_like_sigterm(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": ESCAPES.format(wait=True), "ch/b.md": "# B\n\n```{.python .input}\nx = 1\n```\n"}, config=CONFIG)
    process = start(root)
    pids = wait_for(root / "build/eval/pytorch/ch/pids", process)
    try:
        process.send_signal(signal.SIGHUP)
        out, err = process.communicate(timeout=120)
        assert process.returncode == 129, out + err
        assert "stopped by SIGHUP: build/eval/pytorch/report.json written" in err
        statuses = {entry["chapter"]: entry["status"] for entry in json.loads((root / "build/eval/pytorch/report.json").read_text())["notebooks"]}
        assert statuses == {"ch/a.md": "interrupted", "ch/b.md": "not run"}
        assert not any(alive(pid) for pid in pids)
    finally:
        kill_all(pids)


def test_processes_left_by_a_killed_eval_are_ended_by_the_next(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": ESCAPES.format(wait=True)}, config=CONFIG)
    process = start(root, "--cold")
    pids = wait_for(root / "build/eval/pytorch/ch/pids", process)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # d2lbuild and its process group; the kernel has a session of its own
        process.wait(timeout=60)  # its pipes stay open: the orphaned kernel holds them
        process.stdout.close()
        process.stderr.close()
        assert all(alive(pid) for pid in pids)  # orphaned
        (root / "build/eval/pytorch/ch/go").write_text("")
        again = start(root, "--cold")
        again.communicate(timeout=240)
        assert not any(alive(pid) for pid in pids)
    finally:
        kill_all(pids)
