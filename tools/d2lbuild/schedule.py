"""Plan the notebook runs of an eval: timeouts, which notebooks need a GPU, and who runs next."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .book import matches_any
from .config import EvalSettings

GPU_CALL = re.compile(r"\bd2l\.(try_gpu|try_all_gpus)\b")


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


def timeout_for(chapter: str, settings: EvalSettings) -> float:
    """The cell timeout: the first matching section glob, else the tab's or the book's."""
    for pattern, seconds in settings.timeouts:
        if matches_any(chapter, (pattern,)):
            return seconds
    return settings.timeout


def gpu_need(chapter: str, code: str, settings: EvalSettings) -> tuple[bool, str]:
    """Whether a notebook needs a GPU, and the rule that decided."""
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
        if not (use_gpus and job.needs_gpu) or free_gpus:
            return index
    return None


def devices_for(job: Job, free_gpus: list[str], use_gpus: bool) -> tuple[str | None, str]:
    """The GPU a job takes (or None) and the CUDA_VISIBLE_DEVICES its kernel gets."""
    if use_gpus and job.needs_gpu:
        gpu = free_gpus.pop(0)
        return gpu, gpu
    return None, ""
