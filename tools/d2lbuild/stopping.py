"""Stop signals while an eval prepares: the handler only records the signal; the eval acts on it between steps."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
