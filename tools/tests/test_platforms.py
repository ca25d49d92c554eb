"""The choices made for Windows, tested here by making d2lbuild believe it runs there."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import psutil
import pytest

from d2lbuild import platforms
from d2lbuild.envs import existing_python
from d2lbuild.runner import KernelLauncher, kill_group


@pytest.fixture
def windows(monkeypatch):
    monkeypatch.setattr(platforms, "is_windows", lambda: True)


def test_a_virtual_environments_interpreter_is_where_venv_puts_it(windows, tmp_path):
    assert platforms.venv_python(tmp_path) == tmp_path / "Scripts" / "python.exe"


def test_on_posix_the_interpreter_is_bin_python(tmp_path):
    assert platforms.venv_python(tmp_path) == tmp_path / "bin" / "python"


def test_the_environment_of_a_tab_is_looked_for_where_venv_puts_it(windows, book):
    root = book({"a.md": "# A\n"}, config="[build]\nindex = index\ntabs = pytorch\n\n[eval]\nrequirements = x\n")
    interpreter = root / "build/envs/pytorch/Scripts/python.exe"
    interpreter.parent.mkdir(parents=True)
    interpreter.write_text("")
    from d2lbuild.config import load_config

    assert existing_python(load_config(root), "pytorch") == str(interpreter)


def test_kernels_talk_over_tcp_on_windows_and_unix_sockets_elsewhere(tmp_path, monkeypatch):
    launcher = KernelLauncher("pytorch", sys.executable, {}, str(tmp_path), str(tmp_path))
    assert (launcher.manager("k1").transport, launcher.manager("k1").ip) == ("ipc", str(tmp_path / "k1"))
    monkeypatch.setattr(platforms, "is_windows", lambda: True)
    assert (launcher.manager("k2").transport, launcher.manager("k2").ip) == ("tcp", "127.0.0.1")


def test_no_process_group_is_killed_on_windows(windows, monkeypatch):
    killed = []
    monkeypatch.setattr("os.killpg", lambda group, number: killed.append(group), raising=False)
    kill_group(12345)
    assert killed == []


def test_a_process_tree_is_killed_with_psutil():
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\nprint('ready', flush=True)\n"
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().strip() == "ready"
    children = psutil.Process(parent.pid).children(recursive=True)
    assert len(children) == 1
    platforms.kill_process_tree(parent.pid)
    parent.wait(timeout=10)
    psutil.wait_procs(children, timeout=10)
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)


def test_a_loop_that_cannot_watch_signals_gets_a_plain_handler_that_schedules_the_stop():
    class WindowsLoop:
        scheduled: list = []

        def add_signal_handler(self, *args):
            raise NotImplementedError

        def call_soon_threadsafe(self, callback, *args):
            self.scheduled.append((callback, args))

    loop, stops = WindowsLoop(), []
    before = signal.getsignal(signal.SIGTERM)
    restore = platforms.on_signal(loop, signal.SIGTERM, stops.append)
    try:
        handler = signal.getsignal(signal.SIGTERM)
        handler(signal.SIGTERM, None)
        assert stops == [] and loop.scheduled == [(stops.append, (signal.SIGTERM,))]  # only scheduled, never run here
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_posix_loop_watches_the_signal_itself():
    async def check():
        loop, stops = asyncio.get_running_loop(), []
        restore = platforms.on_signal(loop, signal.SIGHUP, stops.append)
        signal.raise_signal(signal.SIGHUP)
        await asyncio.sleep(0.05)
        restore()
        return stops

    assert asyncio.run(check()) == [signal.SIGHUP]


@pytest.mark.parametrize(("platform", "warm"), [("linux", True), ("darwin", False), ("win32", False)])
def test_warm_kernels_are_on_by_default_on_linux_only(book, monkeypatch, platform, warm):
    from d2lbuild.config import load_config
    from d2lbuild.evaluate import preload_modules

    root = book({"a.md": "# A\n"}, config="[build]\nindex = index\ntabs = pytorch\n")
    config = load_config(root)
    monkeypatch.setattr(sys, "platform", platform)
    assert (preload_modules(config, "pytorch", cold=False) is not None) == warm
    monkeypatch.undo()


def test_warm_kernels_asked_for_in_config_run_on_macos_too(book, monkeypatch):
    from d2lbuild.config import load_config
    from d2lbuild.evaluate import preload_modules

    root = book({"a.md": "# A\n"}, config="[build]\nindex = index\ntabs = pytorch\n\n[eval]\npreload = json\n")
    config = load_config(root)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert preload_modules(config, "pytorch", cold=False) == ("json",)
