"""Stop signals: the handler only records the signal; the command acts on it between steps.

eval installs a flag of its own (it stops its kernels and writes its report). Every other command runs under
``between_steps``: its loops call ``checkpoint()`` between steps (a chapter, a page, a tab), which raises
Stopped once a signal came; files are written atomically, so a stop leaves none half-written.
"""

from __future__ import annotations

import contextvars
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import Stopped

# SIGHUP (a closed terminal) stops an eval as SIGTERM does
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopFlag:
    """The first stop signal, recorded; a second one exits at once (nothing is being written between steps)."""

    def __init__(self) -> None:
        self.number: int | None = None

    def handle(self, number: int, frame) -> None:
        if self.number is not None:
            os._exit(128 + self.number)
        self.number = number

    @contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Record stop signals while the block runs (in the main thread only: signals reach no other)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.signal(number, self.handle) for number in STOP_SIGNALS}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


# The flag of the command running in this context, when it stops between steps (see ``between_steps``).
_ACTIVE: contextvars.ContextVar[StopFlag | None] = contextvars.ContextVar("d2lbuild_stop_flag", default=None)


@contextmanager
def between_steps() -> Iterator[StopFlag]:
    """Record stop signals while the block runs; ``checkpoint()`` in it raises Stopped once one came."""
    flag = StopFlag()
    with flag.installed():
        token = _ACTIVE.set(flag)
        try:
            yield flag
        finally:
            _ACTIVE.reset(token)


def checkpoint() -> None:
    """Between two steps of a command: stop here when a stop signal came (nothing is half-done here)."""
    flag = _ACTIVE.get()
    if flag is not None and flag.number is not None:
        raise Stopped(flag.number)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
