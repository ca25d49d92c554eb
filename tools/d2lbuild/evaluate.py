"""``d2lbuild eval``: run every notebook of a tab against the library just extracted, in parallel, cached."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .cache import EvalCache, notebook_key, resources_digest
from .config import Config, load_config
from .envs import Environment, ensure_environment, visible_gpus
from .errors import BuildError
from .fsutil import write_atomic
from .pipeline import BUILD_DIR, build_notebooks, check_tabs, extract, library_index_path
from .runner import KernelLauncher, RunResult, execute, shutdown, socket_folder
from .schedule import Job, devices_for, gpu_need, next_job, timeout_for
from .warm import WarmKernels, library_preload, without_book_modules

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "MXNET_CPU_WORKER_NTHREADS")


@dataclass(frozen=True)
class EvalOptions:
    tabs: tuple[str, ...] | None = None
    workers: int | None = None
    force: bool = False
    device: str | None = None  # overrides config: auto, cpu or gpu
    gpus: tuple[str, ...] | None = None  # default: what nvidia-smi lists
    cold: bool = False  # every kernel a new interpreter, no warm template


@dataclass
class EvalOutcome:
    results: list[RunResult] = field(default_factory=list)

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.results if r.status == "failed"]


def eval_folder(root: Path, tab: str) -> Path:
    return root / BUILD_DIR / "eval" / tab


def evaluate(root: Path, options: EvalOptions, progress_factory, log=print) -> EvalOutcome:
    """Evaluate the tabs one after another; ``progress_factory(total)`` makes the progress display."""
    config = load_config(root)
    outcome = EvalOutcome()
    for tab in check_tabs(config, options.tabs):
        outcome.results.extend(evaluate_tab(config, tab, options, progress_factory, log))
    return outcome


def evaluate_tab(config: Config, tab: str, options: EvalOptions, progress_factory, log) -> list[RunResult]:
    root = config.root
    extract(root, (tab,))
    built = build_notebooks(root, (tab,))
    environment = ensure_environment(config, tab, log)
    settings = config.eval_settings(tab)
    device = options.device or settings.device
    gpus = list(options.gpus) if options.gpus is not None else (visible_gpus() if device != "cpu" else [])
    if device == "gpu" and not gpus:
        raise BuildError("config.ini", f"[eval-{tab}] device = gpu, but no GPU is visible (nvidia-smi lists none)")
    use_gpus = device != "cpu" and bool(gpus)
    workers = max(1, options.workers or os.cpu_count() or 1)
    index = json.loads((root / library_index_path(tab)).read_text())
    folder = eval_folder(root, tab)
    link_resources(config, folder)
    cache = EvalCache(folder / "cache.json")
    resources = resources_digest(root, config.resources)
    notebooks = sorted(p for p in built.written + built.unchanged if p.startswith(f"{BUILD_DIR}/notebooks/{tab}/"))
    preload = preload_modules(config, tab, options.cold)
    cached, to_run, keys = [], [], {}
    for path in notebooks:
        job, code = plan_job(config, tab, path, use_gpus)
        run_settings = f"{__version__} gpu={use_gpus and job.needs_gpu} preload={preload}"
        key, names = notebook_key(code, index, environment.freeze_digest, resources, run_settings)
        keys[job.chapter] = (key, names)
        entry = None if options.force else cache.hit(job.chapter, key, root / job.result)
        if entry is not None:
            cached.append(RunResult(job, "cached", entry["seconds"], depends_on=names))
        else:
            to_run.append(job)
    to_run.sort(key=lambda job: -cache.entries.get(job.chapter, {}).get("seconds", 1e9))  # longest first
    with progress_factory(len(notebooks)) as progress:
        for result in cached:
            progress.finished(result)
        variables = kernel_env(config, environment, settings.env, workers)
        sockets = socket_folder()
        warm = None if preload is None else WarmKernels(environment.python, variables, preload, str(root), sockets, log)
        launcher = KernelLauncher(tab, environment.python, variables, str(folder), sockets, warm)
        try:
            ran = asyncio.run(run_pool(to_run, launcher, workers, gpus, use_gpus, config, index, cache, keys, progress))
        finally:
            shutil.rmtree(launcher.socket_dir, ignore_errors=True)
    results = cached + ran
    meta = {"device": device, "gpus": gpus, "workers": workers, "python": environment.python, "preload": preload}
    from .report import write_report

    write_report(folder / "report.json", tab, results, meta)
    return results


def preload_modules(config: Config, tab: str, cold: bool) -> tuple[str, ...] | None:
    """What warm kernels import before forking (the library's third-party imports by default); None: cold kernels."""
    configured = config.eval_settings(tab).preload
    if cold or configured == ():
        return None
    if configured is None:
        return library_preload(config.root / config.library(tab).lib_file, config.root)
    return without_book_modules(configured, config.root)


def plan_job(config: Config, tab: str, path: str, use_gpus: bool) -> tuple[Job, str]:
    """The job for a built notebook, and its code (what the cache and the GPU rule look at)."""
    notebook = json.loads((config.root / path).read_text())
    chapter = notebook["metadata"]["d2lbuild"]["source"]
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    settings = config.eval_settings(tab)
    needs_gpu, reason = gpu_need(chapter, code, settings)
    result = f"{BUILD_DIR}/eval/{tab}/" + path.split(f"/notebooks/{tab}/", 1)[1]
    return Job(tab, chapter, path, result, timeout_for(chapter, settings), needs_gpu, reason), code


def kernel_env(config: Config, environment: Environment, extra: tuple[tuple[str, str], ...], workers: int) -> dict[str, str]:
    """Variables of every kernel: the repository first on PYTHONPATH, one share of the cores, config's env."""
    existing = os.environ.get("PYTHONPATH")
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    env = {name: threads for name in THREAD_VARIABLES}
    env["PYTHONPATH"] = str(config.root) + (os.pathsep + existing if existing else "")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.update(dict(extra))
    return env


def link_resources(config: Config, folder: Path) -> None:
    """Make ``[build] resources`` reachable from the eval folder at the same relative paths."""
    folder.mkdir(parents=True, exist_ok=True)
    for resource in config.resources:
        source = config.root / resource.rstrip("/")
        target = folder / resource.rstrip("/")
        if not source.exists() or (target.is_symlink() and target.resolve() == source.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        target.symlink_to(source.resolve(), target_is_directory=source.is_dir())


async def run_pool(jobs, launcher, workers, gpus, use_gpus, config, index, cache, keys, progress) -> list[RunResult]:
    """Run jobs on ``workers`` kernels at a time; each worker boots its next kernel while one runs."""
    pending, free, results = list(jobs), list(gpus), []
    condition = asyncio.Condition()
    numbers = itertools.count()
    cleanups: list[asyncio.Task] = []

    async def take():
        async with condition:
            while pending:
                chosen = next_job(pending, free, use_gpus)
                if chosen is not None:
                    job = pending.pop(chosen)
                    gpu, cuda = devices_for(job, free, use_gpus)
                    return job, gpu, cuda
                await condition.wait()
            return None

    async def release(gpu):
        async with condition:
            if gpu is not None:
                free.append(gpu)
            condition.notify_all()

    async def worker():
        warm = None
        try:
            while (item := await take()) is not None:
                job, gpu, cuda = item
                progress.started(job, gpu)
                current = warm or asyncio.create_task(launcher.start(next(numbers)))
                warm = asyncio.create_task(launcher.start(next(numbers))) if pending else None
                try:
                    result = await run_one(job, current, gpu, cuda, config, index, cache, keys)
                finally:
                    cleanups.append(asyncio.create_task(_shutdown_task(current)))
                    await release(gpu)
                results.append(result)
                progress.finished(result)
        finally:
            if warm is not None:
                cleanups.append(asyncio.create_task(_shutdown_task(warm)))

    tasks = [asyncio.create_task(worker()) for _ in range(min(workers, len(jobs)))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*cleanups, return_exceptions=True)
        await launcher.close()
    return results


async def _shutdown_task(start: asyncio.Task) -> None:
    try:
        manager = await start
    except BaseException:  # the kernel never started: nothing to stop
        return
    await shutdown(manager)


async def run_one(job: Job, start: asyncio.Task, gpu, cuda, config: Config, index: dict, cache: EvalCache, keys) -> RunResult:
    """Execute one job and store its result; a failure never replaces the last good notebook."""
    import nbformat

    root = config.root
    try:
        manager = await start
    except Exception as err:  # the kernel process could not be launched
        return RunResult(job, "failed", 0.0, f"{job.chapter}: kernel failed to start: {err}", gpu=gpu)
    cwd = (root / job.result).parent
    cwd.mkdir(parents=True, exist_ok=True)
    result, notebook = await execute(job, manager, root, str(cwd), cuda, index)
    result.gpu = gpu
    key, names = keys[job.chapter]
    result.depends_on = names
    failed_copy = root / job.result.replace(".ipynb", ".failed.ipynb")
    notebook.metadata.setdefault("d2lbuild", {})["eval"] = {"status": result.status, "seconds": round(result.seconds, 3), "gpu": gpu}
    text = nbformat.writes(notebook)
    if result.status == "ok":
        write_atomic(root / job.result, text)
        failed_copy.unlink(missing_ok=True)
        cache.record(job.chapter, key, result.seconds)
    else:
        write_atomic(failed_copy, text)
        cache.forget(job.chapter)
    return result
