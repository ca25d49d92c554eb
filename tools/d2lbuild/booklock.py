"""One lock per book: the commands that write build/ (extract, notebooks, build, eval, env, html, pdf, edit, sync) never interleave."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

from .layout import BUILD_DIR
from .layout import LOCK as LOCK_PATH

LOCK = PurePath(LOCK_PATH).name  # in build/


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def book_lock(root: Path, log: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``build/.lock`` (a second command waits, saying so); taken again by the same thread, it is held once."""
    from filelock import FileLock, Timeout

    build = root / BUILD_DIR
    if build.exists() and not build.is_dir():
        from .errors import BuildError

        raise BuildError(BUILD_DIR, "is not a folder; d2lbuild writes every output under build/ (move it away)")
    build.mkdir(exist_ok=True)
    lock = FileLock(build / LOCK, is_singleton=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        (log or _to_stderr)(f"{LOCK_PATH}: another d2lbuild command is writing build/; waiting for it to finish")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
