"""Every process a kernel started is ended with the eval, also those that left its process group.

Kernels carry ``D2LBUILD_OWNER`` (the eval's process ID and start time) in their environment, and so does every
process they start, whatever session or parent it ends up in (``setsid``, a double fork). At the end of a tab the
eval kills what carries its own mark; at the start it kills what carries the mark of an eval that is gone (one
killed with SIGKILL cannot clean up after itself).
"""

from __future__ import annotations

import os
from collections.abc import Callable

OWNER_VARIABLE = "D2LBUILD_OWNER"


def owner_token() -> str:
    """This process's mark: its process ID and start time (a reused ID has another start time)."""
    import psutil

    me = psutil.Process()
    return f"{me.pid}:{me.create_time():.2f}"


def kill_owned(token: str) -> int:
    """Kill every process carrying ``token``; return how many."""
    return _kill(_marked(lambda mark: mark == token))


def kill_orphans() -> int:
    """Kill every process left by an eval that no longer runs; return how many."""
    return _kill(_marked(lambda mark: not _owner_alive(mark)))


def _owner_alive(mark: str) -> bool:
    import psutil

    pid, _, started = mark.partition(":")
    try:
        return f"{psutil.Process(int(pid)).create_time():.2f}" == started
    except (ValueError, psutil.Error):
        return False


def _marked(wanted: Callable[[str], bool]) -> list:
    """This user's processes whose mark ``wanted`` accepts (never this process)."""
    import psutil

    found, me, uid = [], os.getpid(), os.getuid() if hasattr(os, "getuid") else None
    for process in psutil.process_iter():
        try:
            if process.pid == me or (uid is not None and process.uids().real != uid):
                continue
            mark = process.environ().get(OWNER_VARIABLE)
        except (psutil.Error, OSError):
            continue
        if mark and wanted(mark):
            found.append(process)
    return found


def _kill(processes: list) -> int:
    import psutil

    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(processes, timeout=5)
    return len(processes)
