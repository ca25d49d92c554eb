"""What differs between Linux, macOS and Windows for running kernels: each choice made here, at call time.

Windows has no process groups (``killpg``), no Unix sockets for ZeroMQ's ipc transport, no ``add_signal_handler``
on its event loops and puts a virtual environment's interpreter in ``Scripts/python.exe``. Linux and macOS share
the POSIX way; warm kernels (which fork) are on by default on Linux only (see evaluate).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path


def is_windows() -> bool:
    return os.name == "nt"


def venv_python(folder: Path) -> Path:
    """The interpreter of a virtual environment made with ``python -m venv folder``."""
    return folder / "Scripts" / "python.exe" if is_windows() else folder / "bin" / "python"


def kernel_connection(socket_dir: str, name: str) -> dict[str, str]:
    """How a kernel and d2lbuild talk: Unix sockets in a private folder, or TCP on the loopback on Windows."""
    if is_windows():
        return {"transport": "tcp", "ip": "127.0.0.1"}
    return {"transport": "ipc", "ip": os.path.join(socket_dir, name)}


def has_process_groups() -> bool:
    return hasattr(os, "killpg") and not is_windows()


def kill_process_tree(pid: int | None) -> None:
    """Kill a process and every descendant it has now (where there are no process groups to kill)."""
    import psutil

    if not pid:
        return
    try:
        root = psutil.Process(pid)
        processes = [*root.children(recursive=True), root]
    except psutil.Error:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass


def on_signal(loop, number: int, callback: Callable[[int], None]) -> Callable[[], None]:
    """Call ``callback(number)`` in the event loop when the signal comes; return what undoes it. Where the loop
    cannot watch signals (Windows), a plain handler hands the signal to the loop (it only schedules the call)."""
    previous = signal.getsignal(number)
    try:
        loop.add_signal_handler(number, callback, number)
    except (NotImplementedError, RuntimeError):
        signal.signal(number, lambda received, frame: loop.call_soon_threadsafe(callback, received))

        def restore_plain() -> None:
            signal.signal(number, previous)

        return restore_plain

    def restore() -> None:
        loop.remove_signal_handler(number)
        signal.signal(number, previous)

    return restore
