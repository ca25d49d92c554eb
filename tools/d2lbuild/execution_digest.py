"""The part of d2lbuild's own source that is in the eval cache key: the modules that shape how a notebook runs.

An edit of any other module (the command line's help, the report, the site) leaves every cached result valid.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .fsutil import file_digest
from .hashing import digest

PACKAGE = Path(__file__).resolve().parent
# What a kernel runs and with what: the kernel's start, environment and life (runner, warm, warm_template, envs,
# reaper), the library's bytecode, the folder it runs in (workspace), its timeouts and devices (schedule), what is
# kept of its outputs (tracemap annotates tracebacks), and how the key and the plan are made (cache, evaluate).
EXECUTION_MODULES = (
    "bytecode", "cache", "envs", "evaluate", "inherited", "reaper", "runner", "schedule", "tracemap", "warm",
    "warm_template", "workspace",
)


def modules_digest(package: Path, modules: tuple[str, ...]) -> str:
    """A digest of the named modules of a package folder, by name and bytes."""
    return digest("\n".join(f"{name}\0{file_digest(package / f'{name}.py')}" for name in modules))


@lru_cache(maxsize=1)
def execution_digest() -> str:
    """The digest of the modules that shape execution (read once a run)."""
    return modules_digest(PACKAGE, EXECUTION_MODULES)
