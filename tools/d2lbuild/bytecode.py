"""Byte-compile the book's library for its kernels, checked against the source's hash.

Python's default bytecode is checked by the source's size and modification time, so a library rewritten within the
same second to the same size would run from stale bytecode. Bytecode checked by hash is never run stale: an
interpreter that finds it stale compiles the source and writes it again, checked by hash. It is written by the tab's
own interpreter (its version names the file), before any kernel starts, warm or cold, and never when the kernels'
environment asks for no bytecode.
"""

from __future__ import annotations

import subprocess

# run by the tab's interpreter, with the library's files as arguments; the library itself is never imported
COMPILE = """\
import importlib.util, py_compile, sys
if not sys.dont_write_bytecode:
    for path in sys.argv[1:]:
        try:
            py_compile.compile(path, cfile=importlib.util.cache_from_source(path), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
        except Exception:
            pass  # broken code or a read-only folder: the kernel compiles the file itself and says why
"""
COMPILE_SECONDS = 60.0


def compile_library(python: str, files: tuple[str, ...], env: dict[str, str]) -> None:
    """Write hash-checked bytecode of ``files`` with the kernels' interpreter and environment variables.

    A failure is not reported: broken code is reported by the kernels that import it, and where the bytecode
    cannot be written (a read-only folder) each kernel compiles the library itself, as Python does.
    """
    if not files:
        return
    try:
        subprocess.run([python, "-c", COMPILE, *files], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=COMPILE_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        pass
