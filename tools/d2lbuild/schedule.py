"""Plan the notebook runs of an eval: timeouts, which notebooks need a GPU, and who runs next."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import Enum

from .book import matches_any
from .config import EvalSettings

GPU_CALL = re.compile(r"\bd2l\.(try_gpu|try_all_gpus)\b")
GPU_MARK = re.compile(r"^[ \t]*#@gpus[ \t]+(\d+)[ \t]*$", re.MULTILINE)  # an author's mark: the section needs N GPUs


class Status(str, Enum):
    """What became of a notebook in an eval."""

    OK = "ok"
    CACHED = "cached"  # ok, and nothing it depends on changed since it last ran ok
    FAILED = "failed"  # see its Failure
    INTERRUPTED = "interrupted"  # running when the eval was stopped: neither result nor cache touched
    NOT_RUN = "not run"  # still waiting when the eval was stopped
    SKIPPED = "skipped"  # needs more GPUs than the host has: not run, neither result nor cache touched

    __str__ = str.__str__
    __format__ = str.__format__


class Failure(str, Enum):
    """How a notebook failed."""

    ERROR = "error"  # a cell raised
    TIMED_OUT = "timed out"
    DIED = "died"  # the kernel process exited or was killed
    NO_KERNEL = "no kernel"  # the kernel never started
    NO_GPUS = "needs GPUs"  # needs more GPUs than the host has (with --strict; a skip otherwise)
    CHANGED = "inputs changed"  # the library or resources changed while it ran: its result was discarded

    __str__ = str.__str__
    __format__ = str.__format__


@dataclass(frozen=True)
class Job:
    """One notebook to execute."""

    tab: str
    chapter: str
    notebook: str
    result: str
    timeout: float
    needs_gpu: bool
    gpu_reason: str
    gpus: int = 0  # GPUs it cannot run without (an author's #@gpus mark); 0: it runs on the CPU when there is none


def usable_cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup CPU quota (containers)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return max(1, min(count, quota) if quota else count)


def cgroup_cpu_limit(cgroup_root: str = "/sys/fs/cgroup") -> int | None:
    """CPUs allowed by the cgroup quota (v2 ``cpu.max`` or v1 ``cfs_quota_us``), rounded up; None when unlimited."""
    candidates = ((f"{cgroup_root}/cpu.max", None), (f"{cgroup_root}/cpu/cpu.cfs_quota_us", f"{cgroup_root}/cpu/cpu.cfs_period_us"))
    for quota_file, period_file in candidates:
        try:
            with open(quota_file) as handle:
                fields = handle.read().split()
            if period_file:
                with open(period_file) as handle:
                    fields.append(handle.read().strip())
        except OSError:
            continue
        if len(fields) >= 2 and fields[0] not in ("max", "-1"):
            try:
                return max(1, -(-int(fields[0]) // int(fields[1])))
            except (ValueError, ZeroDivisionError):
                return None
        return None
    return None


def timeout_for(chapter: str, settings: EvalSettings) -> float:
    """The cell timeout: the first matching section glob, else the tab's or the book's."""
    for pattern, seconds in settings.timeouts:
        if matches_any(chapter, (pattern,)):
            return seconds
    return settings.timeout


def gpus_marked(code: str) -> int:
    """The GPUs a section says it needs (``#@gpus N`` on a line of a code cell; the largest wins), 0 without a mark."""
    return max((int(count) for count in GPU_MARK.findall(code)), default=0)


def gpu_need(chapter: str, code: str, settings: EvalSettings) -> tuple[bool, str]:
    """Whether a notebook needs a GPU, and the rule that decided."""
    marked = gpus_marked(code)
    if marked:
        return True, f"marked #@gpus {marked}"
    for pattern in settings.gpu_sections:
        if matches_any(chapter, (pattern,)):
            return True, f"config gpu_sections {pattern}"
    call = GPU_CALL.search(code)
    if call:
        return True, f"calls d2l.{call.group(1)}"
    return False, "no GPU rule matched"


def next_job(pending: list[Job], free_gpus: list[str], use_gpus: bool) -> int | None:
    """Index of the job a free worker should take: the first one that can start now.

    A notebook that needs a GPU waits for a free one (when GPUs are used); CPU notebooks never wait.
    """
    for index, job in enumerate(pending):
        if not (use_gpus and job.needs_gpu) or len(free_gpus) >= max(1, job.gpus):
            return index
    return None


def devices_for(job: Job, free_gpus: list[str], use_gpus: bool) -> tuple[str | None, str]:
    """The GPUs a job takes (comma-separated, or None) and the CUDA_VISIBLE_DEVICES its kernel gets."""
    if use_gpus and job.needs_gpu:
        taken = [free_gpus.pop(0) for _ in range(max(1, job.gpus))]
        return ",".join(taken), ",".join(taken)
    return None, ""


def missing_gpus(job: Job, host_gpus: int) -> str | None:
    """``needs N GPUs, host has M`` when the job cannot run on this host, else None."""
    if job.gpus > host_gpus:
        return f"needs {job.gpus} GPU{'s' if job.gpus > 1 else ''}, host has {host_gpus}"
    return None
