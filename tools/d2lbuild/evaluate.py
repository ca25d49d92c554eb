"""``d2lbuild eval``: run every notebook of a tab against the library just extracted, in parallel, cached."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import functools
import itertools
import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .book import notebook_files
from .booklock import book_lock
from .bytecode import compile_library
from .cache import MAGIC, EvalCache, LibraryFacts, library_facts, notebook_key, package_digest, resources_digest
from .config import Config, load_config
from .envs import Environment, checked_interpreter, ensure_environment, existing_python, visible_gpus
from .errors import BuildError, Stopped
from .execution_digest import execution_digest
from .failures import FailureMemory
from .formats import NOTEBOOK_SUFFIX
from .fsutil import file_digest, write_atomic
from .guard import inside_build
from .hashing import digest
from .inherited import counted_variables
from .layout import eval_cache_path, eval_dir, failed_copy_path, failures_path, notebooks_dir, report_path, result_path
from .library import read_library_index
from .pipeline import build, check_tabs
from .platforms import on_signal
from .reaper import kill_orphans, kill_owned, owner_token
from .report import REPORT_STORE, write_report
from .runner import KernelLauncher, KernelSession, KernelStartError, RunResult, cell_position, kernel_environment, socket_folder
from .schedule import Failure, Job, Status, devices_for, gpu_need, gpus_marked, missing_gpus, next_job, timeout_for, usable_cpus
from .sections import Selection, kept_records, select
from .state import discard_states
from .stopping import STOP_SIGNALS, StopFlag
from .warm import WarmKernels, library_preload, without_book_modules
from .workspace import check_build_folder, copy_resources, digested_resources, missing_resources


# forking after a framework's import is unsafe on macOS (its system libraries are not fork-safe): warm kernels only
# when asked for there (``preload = ...``)
def warm_by_default() -> bool:
    return sys.platform == "linux"

# each kernel's share of the CPUs; TensorFlow reads its two when its runtime starts, after a warm kernel's fork
THREAD_VARIABLES = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
    "MXNET_CPU_WORKER_NTHREADS",
)


@dataclass(frozen=True)
class EvalOptions:
    tabs: tuple[str, ...] | None = None
    workers: int | None = None
    force: bool = False
    device: str | None = None  # overrides config: auto, cpu or gpu
    gpus: tuple[str, ...] | None = None  # default: what nvidia-smi lists
    cold: bool = False  # every kernel a new interpreter, no warm template
    sections: tuple[str, ...] = ()  # chapter paths or globs relative to the book; none: every section
    retry_failed: bool = False  # run remembered failures again
    strict: bool = False  # a notebook needing more GPUs than the host has fails instead of being skipped
    cluster: str | None = None  # a Ray cluster's address: the jobs run there (``cluster``); default: config's [eval] cluster


@dataclass
class EvalOutcome:
    results: list[RunResult] = field(default_factory=list)
    stopped_by: int | None = None  # the signal that stopped the eval, if one did
    reports: list[str] = field(default_factory=list)  # the report.json files written

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.results if r.status is Status.FAILED]


def eval_folder(root: Path, tab: str) -> Path:
    return root / eval_dir(tab)


def evaluate(root: Path, options: EvalOptions, progress_factory, log=print) -> EvalOutcome:
    """Evaluate the tabs one after another; ``progress_factory(total)`` makes the progress display."""
    config = load_config(root)
    check_build_folder(root)
    for warning in (*config.warnings, *missing_resources(config)):
        log(warning)
    if options.sections:
        options = replace(options, sections=select(root, options.sections, notebook_files(config)).patterns)
    with StopFlag().installed() as stop, book_lock(root, log):
        kill_orphans()  # processes an eval killed with SIGKILL left behind
        return _evaluate(config, options, progress_factory, log, stop)


def _evaluate(config: Config, options: EvalOptions, progress_factory, log, stop: StopFlag) -> EvalOutcome:
    outcome = EvalOutcome()
    cluster = connect_cluster(options.cluster or config.cluster, log)
    try:
        for tab in check_tabs(config, options.tabs):
            if stop.number is not None:
                outcome.stopped_by = stop.number
                break
            tab_options = cluster.adjust(options) if cluster else options
            try:
                results, stopped_by = evaluate_tab(config, tab, tab_options, progress_factory, log, stop, cluster)
                outcome.reports.append(report_path(tab))
            except KeyboardInterrupt:  # while preparing a tab: the tabs evaluated before it are still reported
                results, stopped_by = [], signal.SIGINT
            except Stopped as stop:
                results, stopped_by = [], stop.number
            outcome.results.extend(results)
            if stopped_by is not None:
                outcome.stopped_by = stopped_by
                break
    finally:
        if cluster is not None:
            cluster.close()
    return outcome


def connect_cluster(address: str | None, log):
    """The Ray cluster the jobs run on (``cluster.Cluster``), or None for a local eval; Ray is imported only here."""
    if not address:
        return None
    from .cluster import Cluster

    return Cluster(address, log)


@dataclass
class TabPlan:
    """What an eval of one tab will do: the jobs to run, the results decided without running (cached, remembered
    failures, skips), the sections left out by the selection, and how kernels run."""

    jobs: list[Job]
    cached: list[RunResult]
    keys: dict[str, tuple[str, list[str]]]
    workers: int
    gpus: list[str]
    use_gpus: bool
    variables: dict[str, str]
    meta: dict
    preload: tuple[str, ...] | None = None  # modules the warm template imports; None: cold kernels
    library: tuple[str, ...] = ()  # the files of the library, byte-compiled before any kernel starts
    others: list[Job] = field(default_factory=list)  # sections not selected: their results, cache and report lines stay
    failures: FailureMemory | None = None
    sources: dict[str, str] = field(default_factory=dict)  # chapter -> the notebook text keyed, which the kernel runs
    inputs: str = ""  # the library's and resources' digest when planned: a run that saw others is discarded


def evaluate_tab(
    config: Config, tab: str, options: EvalOptions, progress_factory, log, stop: StopFlag | None = None, cluster=None
) -> tuple[list[RunResult], int | None]:
    """Evaluate one tab under the book's lock; returns the results and the signal that stopped it, if any.

    A signal recorded in ``stop`` while the tab is prepared runs no notebook; every process the kernels started
    is killed at the end (see ``reaper``). With ``cluster`` the plan is the same, and its jobs run on the cluster
    (``cluster.Cluster``) instead of local kernels."""
    root = config.root
    folder = eval_folder(root, tab)
    owner = owner_token()
    with book_lock(root, log):  # held already when called by evaluate
        sockets = socket_folder()
        early = warm = None if cluster else early_warm_kernels(config, tab, options, sockets, log)
        try:
            plan, environment, cache = prepare_tab(config, tab, options, log)
            if options.sections and not plan.jobs and not plan.cached:
                log(f"eval {tab}: no selected section has a notebook in this tab")
            warm = None if cluster else warm_kernels(early, plan, environment, str(root), sockets, log)
            if plan.jobs and not cluster and (stop is None or stop.number is None):
                compile_library(environment.python, plan.library, kernel_environment(plan.variables))
            with progress_factory(len(plan.jobs) + len(plan.cached)) as progress:
                for result in plan.cached:
                    progress.finished(result)
                store = ResultStore(root, read_library_index(root, tab), cache, plan.keys, plan.failures)
                store.sources, store.inputs = plan.sources, functools.partial(unchanged_inputs, config, tab, plan.inputs)
                if cluster:
                    ran, stopped_by = cluster.run_tab(root, config, tab, plan, store, progress, stop)
                else:
                    launcher = KernelLauncher(tab, environment.python, plan.variables, str(folder), sockets, warm, owner)
                    evaluator = Evaluator(launcher, plan.workers, plan.gpus, plan.use_gpus, store, progress, log)
                    evaluator.signal = stop.number if stop is not None else None  # stopped while preparing: nothing runs
                    ran = asyncio.run(evaluator.run(plan.jobs))
                    stopped_by = evaluator.signal
        finally:
            for kernels in {early, warm} - {None}:
                kernels.discard()  # nothing left to do once the evaluator closed it
            shutil.rmtree(sockets, ignore_errors=True)
            kill_owned(owner)  # what cells started and left running, also outside their kernel's process group
        results = plan.cached + ran
        kept = kept_records(folder / "report.json", plan.others, lambda line: None)  # a broken report: warned about below
        remove_deleted_results(root, folder, [r.job for r in results] + plan.others, cache, log, plan.failures)
        write_report(folder / "report.json", tab, results, plan.meta, kept)
    return results, stopped_by


def early_warm_kernels(config: Config, tab: str, options: EvalOptions, sockets: str, log) -> WarmKernels | None:
    """Warm kernels whose template starts now, so that its imports overlap the preparation of the tab.

    Only when notebooks will certainly run (``--force``), the tab's environment exists and kernels will be warm;
    otherwise the template starts once the plan shows that something runs, so that a cached eval starts none.
    """
    python = existing_python(config, tab)
    configured = config.eval_settings(tab).preload
    if not options.force or python is None or options.cold or configured == () or (configured is None and not warm_by_default()):
        return None
    if config.eval_settings(tab).python:  # an interpreter that cannot serve is one line, before a template fails in it
        checked_interpreter(config, tab, log=lambda line: None)
    warm = WarmKernels(python, kernel_variables(config, tab, options), (), str(config.root), sockets, log)
    warm.spawn()
    return warm


def warm_kernels(early: WarmKernels | None, plan: TabPlan, environment: Environment, root: str, sockets: str, log) -> WarmKernels | None:
    """The warm kernels of a planned tab: the early ones when they match the environment, else new ones, started now.

    None when kernels are cold or nothing runs.
    """
    if plan.preload is None or not plan.jobs:
        return None
    if early is not None and early.python == environment.python and early.variables == plan.variables and not environment.created:
        early.template.modules = plan.preload
        return early
    if early is not None:
        early.discard()
    warm = WarmKernels(environment.python, plan.variables, plan.preload, root, sockets, log)
    warm.spawn()  # its imports overlap the rest of the set-up and the first kernel's start
    return warm


def prepare_tab(config: Config, tab: str, options: EvalOptions, log) -> tuple[TabPlan, Environment, EvalCache]:
    """Bring the library, notebooks, environment and resource copies up to date, and plan the runs."""
    root = config.root
    if options.force:
        discard_states(root)
    _, built = build(root, (tab,))  # the tab's library and notebooks, the chapters read once
    environment = ensure_environment(config, tab, log)
    folder = eval_folder(root, tab)
    copy_resources(config, folder, log)
    cache = EvalCache(root / eval_cache_path(tab), log, eval_cache_path(tab))
    notebooks = sorted(p for p in built.written + built.unchanged if p.startswith(notebooks_dir(tab) + "/"))
    failures = FailureMemory(root / failures_path(tab), log, failures_path(tab))
    inputs = tab_inputs(config, tab)  # before the plan reads them: an edit from now on is seen after the runs
    plan = plan_tab(config, tab, options, environment, notebooks, cache, failures)
    return dataclasses.replace(plan, inputs=inputs), environment, cache


def tab_inputs(config: Config, tab: str) -> str:
    """The digest of what a kernel reads besides its notebook: the library package's files and the resources."""
    library = config.library(tab).lib_file
    files = [config.root / library, *(config.root / parent / "__init__.py" for parent in Path(library).parents if parent != Path("."))]
    texts = "".join(f"{path}\0{file_digest(path)}\0" for path in files)
    return digest(f"{texts}{package_digest(config.root, library)}\0{resources_digest(digested_resources(config))}")


def unchanged_inputs(config: Config, tab: str, planned: str) -> bool:
    """Whether the library and resources are still what the plan saw."""
    try:
        return tab_inputs(config, tab) == planned
    except OSError:
        return False


def plan_tab(config: Config, tab: str, options: EvalOptions, environment: Environment, notebooks: list[str], cache: EvalCache,
             failures: FailureMemory) -> TabPlan:
    """Decide what runs: a notebook whose key matches its last good run is cached, one whose key matches its last failed
    run is that failure again (unless ``force`` or ``retry_failed``), one that needs more GPUs than the host has is
    skipped (failed when ``strict``); only the selected sections are looked at."""
    root = config.root
    settings = config.eval_settings(tab)
    device = options.device or settings.device
    gpus = list(options.gpus) if options.gpus is not None else (visible_gpus() if device != "cpu" else [])
    if device == "gpu" and not gpus:
        raise BuildError("config.ini", f"[eval-{tab}] device = gpu, but no GPU is visible (nvidia-smi lists none)")
    use_gpus = device != "cpu" and bool(gpus)
    workers = max(1, options.workers or usable_cpus())
    variables = kernel_variables(config, tab, options)
    index = read_library_index(root, tab)
    library = library_facts(root, config.library(tab).lib_file, index)
    preload = preload_modules(config, tab, options.cold)
    common = {"installed": environment.installed, "resources": resources_digest(digested_resources(config)),
              "tool": execution_digest(), "inherited": json.dumps(counted_variables(os.environ))}
    selection = Selection(options.sections)
    host_gpus = len(gpus) if use_gpus else 0
    jobs, cached, keys, others = [], [], {}, []
    sources = {}
    for path in notebooks:
        text = (root / path).read_text(encoding="utf-8")  # read once: the key is of the bytes the kernel runs
        job, cells = plan_job(config, tab, path, use_gpus, text)
        if not selection.selects(job.chapter):
            others.append(job)
            continue
        sources[job.chapter] = text
        keys[job.chapter] = job_key(job, cells, library, common, {**variables, "preload": repr(preload)}, environment.python, use_gpus)
        decided = decided_without_running(job, keys[job.chapter], options, cache, failures, host_gpus, root)
        decided = decided or too_deep_for_a_kernel(job, text)
        if decided is not None:
            cached.append(decided)
        else:
            jobs.append(job)
    jobs.sort(key=lambda job: -cache.seconds(job.chapter))  # longest first
    meta = {"device": device, "gpus": gpus, "workers": workers, "python": environment.python, "preload": preload,
            "selected": list(selection.patterns) or None}
    sources_planned = library_sources(config, tab)
    return TabPlan(jobs, cached, keys, workers, gpus, use_gpus, variables, meta, preload, sources_planned, others, failures, sources)


def decided_without_running(job: Job, key: tuple[str, list[str]], options: EvalOptions, cache: EvalCache, failures: FailureMemory,
                            host_gpus: int, root: Path) -> RunResult | None:
    """The result of a job that need not run: cached, its remembered failure, or skipped for want of GPUs."""
    missing = missing_gpus(job, host_gpus)
    if missing is not None:
        if options.strict:
            return RunResult(job, Status.FAILED, reason=f"{job.chapter}: {missing}", failure=Failure.NO_GPUS)
        return RunResult(job, Status.SKIPPED, reason=f"{job.chapter}: skipped: {missing}")
    if options.force:
        return None
    entry = cache.hit(job.chapter, key[0], root / job.result)
    if entry is not None:
        return RunResult(job, Status.CACHED, entry["seconds"], depends_on=key[1])
    failed_copy = root / failed_copy_path(job.result)
    remembered = None if options.retry_failed else failures.recall(job.chapter, key[0], failed_copy)
    if remembered is not None:
        return RunResult(job, Status.FAILED, remembered["seconds"], remembered["reason"], remembered["traceback"],
                         depends_on=key[1], failure=Failure(remembered["failure"]), remembered=True)
    return None


def too_deep_for_a_kernel(job: Job, text: str) -> RunResult | None:
    """A failure for a notebook with a cell nested too deeply for Python's parser: IPython's kernel would never
    answer it (its handler raises RecursionError), and the cell would only time out."""
    for cell in json.loads(text)["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "".join(cell["source"])
        try:
            ast.parse("\n".join(MAGIC.sub(r"\1pass  #", line, count=1) for line in code.splitlines()))
        except (SyntaxError, ValueError):
            continue  # the kernel reports these itself
        except (RecursionError, MemoryError):
            reason = f"{cell_position(cell, job)}: the cell is nested too deeply for Python's parser; the kernel cannot run it"
            return RunResult(job, Status.FAILED, reason=reason, failure=Failure.ERROR)
    return None


def library_sources(config: Config, tab: str) -> tuple[str, ...]:
    """The files a notebook's ``from d2l import ...`` runs: the tab's library and its package's ``__init__.py``."""
    library = (config.root / config.library(tab).lib_file).resolve()
    package = library.parent / "__init__.py"
    return tuple(str(path) for path in (package, library) if path.is_file())


def preload_modules(config: Config, tab: str, cold: bool) -> tuple[str, ...] | None:
    """What warm kernels import before forking (the library's third-party imports by default); None: cold kernels."""
    configured = config.eval_settings(tab).preload
    if cold or configured == () or (configured is None and not warm_by_default()):
        return None
    if configured is None:
        return library_preload(config.root / config.library(tab).lib_file, config.root)
    return without_book_modules(configured, config.root)


def job_key(job: Job, cells: list[str], library: LibraryFacts, common: dict, variables: dict, python: str, use_gpus: bool):
    """The cache key of a job: its code and library names, plus everything about how it runs."""
    settings = {"env": variables, "timeout": job.timeout, "gpu": use_gpus and job.needs_gpu, "python": python}
    return notebook_key(cells, library, {**common, "settings": json.dumps(settings, sort_keys=True)})


def plan_job(config: Config, tab: str, path: str, use_gpus: bool, text: str | None = None) -> tuple[Job, list[str]]:
    """The job for a built notebook (``text``: its content, read by the caller), and its code cells (what the cache
    and the GPU rule look at)."""
    notebook = json.loads(text if text is not None else (config.root / path).read_text())
    chapter = notebook["metadata"]["d2lbuild"]["source"]
    cells = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    settings = config.eval_settings(tab)
    code = "\n".join(cells)
    needs_gpu, reason = gpu_need(chapter, code, settings)
    result = result_path(tab, path)
    return Job(tab, chapter, path, result, timeout_for(chapter, settings), needs_gpu, reason, gpus_marked(code)), cells


def kernel_variables(config: Config, tab: str, options: EvalOptions) -> dict[str, str]:
    """The variables every kernel of ``tab`` gets on top of this process's environment."""
    workers = max(1, options.workers or usable_cpus())
    return kernel_env(config, eval_folder(config.root, tab), config.eval_settings(tab).env, workers)


def kernel_env(config: Config, folder: Path, extra: tuple[tuple[str, str], ...], workers: int) -> dict[str, str]:
    """Variables of every kernel: the repository first on PYTHONPATH, one share of the CPUs, config's env."""
    existing = os.environ.get("PYTHONPATH")
    threads = str(max(1, usable_cpus() // workers))
    env = {name: threads for name in THREAD_VARIABLES}
    env["PYTHONPATH"] = str(config.root) + (os.pathsep + existing if existing else "")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.update(kernel_state_folders(folder))
    env.update(dict(extra))
    return env


def kernel_state_folders(folder: Path) -> dict[str, str]:
    """Folders IPython and matplotlib would otherwise create in the home directory: kept under build/."""
    return {"IPYTHONDIR": str(folder / ".ipython"), "MPLCONFIGDIR": str(folder / ".matplotlib")}


def remove_deleted_results(root: Path, folder: Path, jobs: list[Job], cache: EvalCache, log, failures: FailureMemory | None = None) -> None:
    """Results and cache entries of chapters that are gone (the last report lists what earlier runs wrote)."""
    current = {job.result for job in jobs}
    cache.keep_only({job.chapter for job in jobs})
    if failures is not None:
        failures.keep_only({job.chapter for job in jobs})
    report = REPORT_STORE.read(root / report_path(folder.name), log, report_path(folder.name)) or {}
    records = report.get("notebooks", [])
    prefix = eval_dir(folder.name) + "/"
    for record in records:
        result = record.get("notebook") if isinstance(record, dict) else None
        ours = isinstance(result, str) and result.startswith(prefix) and result.endswith(NOTEBOOK_SUFFIX) and ".." not in result
        if ours and result not in current:
            for path in (root / result, root / failed_copy_path(result)):
                if inside_build(root, path):
                    path.unlink(missing_ok=True)


@dataclass
class ResultStore:
    """Where finished notebooks go: the result (or a ``.failed`` copy) and the cache entry."""

    root: Path
    index: dict
    cache: EvalCache
    keys: dict[str, tuple[str, list[str]]]
    failures: FailureMemory | None = None
    sources: dict[str, str] = field(default_factory=dict)  # chapter -> the notebook text its key is of
    inputs: Callable[[], bool] = lambda: True  # whether the library and resources are as planned

    def save(self, result: RunResult, notebook) -> None:
        """Store one finished notebook; a failure never replaces the last good result, and a run that may have
        seen another library or other resources than its key says is discarded."""
        import nbformat

        job = result.job
        key, result.depends_on = self.keys[job.chapter]
        if not self.inputs():
            self.cache.forget(job.chapter)
            result.status, result.failure, result.traceback = Status.FAILED, Failure.CHANGED, ""
            result.reason = f"{job.chapter}: the library or the resources changed while it ran; result discarded (run eval again)"
            return
        failed_copy = self.root / failed_copy_path(job.result)
        record = {"status": result.status, "seconds": round(result.seconds, 3), "gpu": result.gpu}
        if result.failure is not None:
            record["failure"] = result.failure
        notebook.metadata.setdefault("d2lbuild", {})["eval"] = record
        text = nbformat.writes(notebook)
        if result.status is Status.OK:
            write_atomic(self.root / job.result, text)
            failed_copy.unlink(missing_ok=True)
            self.cache.record(job.chapter, key, result.seconds, digest(text))
            if self.failures is not None:
                self.failures.forget(job.chapter)
        else:
            write_atomic(failed_copy, text)
            self.cache.forget(job.chapter)
            if self.failures is not None:
                kind = (result.failure or Failure.ERROR).value
                self.failures.remember(job.chapter, key, result.seconds, kind, result.reason, result.traceback)


class Evaluator:
    """Runs jobs on ``workers`` kernels at a time, hands out GPUs, and stops cleanly on SIGINT or SIGTERM.

    Each worker boots its next kernel while the current notebook runs. On the first signal no new notebook
    starts, running ones are cancelled and their kernels interrupted, then shut down (killed with their
    process groups when still alive after 5 s); they are reported interrupted, pending ones not run. A
    second signal kills every kernel and exits at once.
    """

    def __init__(self, launcher: KernelLauncher, workers: int, gpus: list[str], use_gpus: bool, store: ResultStore, progress, log):
        self.launcher, self.workers, self.use_gpus = launcher, workers, use_gpus
        self.store, self.progress, self.log = store, progress, log
        self.free = list(gpus)
        self.pending: list[Job] = []
        self.running: dict[asyncio.Task, asyncio.Task] = {}  # job task -> the kernel start it runs on
        self.kernels: list[asyncio.Task] = []
        self.background: list[asyncio.Task] = []
        self.numbers = itertools.count()
        self.signal: int | None = None
        self.closing = False  # the pool is being torn down: no job starts any more
        self.condition: asyncio.Condition | None = None

    async def run(self, jobs: list[Job]) -> list[RunResult]:
        self.pending, self.condition = list(jobs), asyncio.Condition()
        results: list[RunResult] = []
        restore = self._catch_signals()
        workers = [asyncio.create_task(self.worker(results)) for _ in range(min(self.workers, len(jobs)))]
        try:
            await asyncio.gather(*workers)
        finally:
            self.closing = True
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            while self.background:
                await asyncio.gather(*self.background, return_exceptions=True)
                self.background = [task for task in self.background if not task.done()]
            await self.launcher.close()
            restore()
        for job in self.pending:
            results.append(RunResult(job, Status.NOT_RUN))
            self.progress.finished(results[-1])
        return results

    def _catch_signals(self):
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            return lambda: None
        loop = asyncio.get_running_loop()
        undo = [on_signal(loop, number, self.stop) for number in STOP_SIGNALS]

        def restore() -> None:
            for step in undo:
                step()

        return restore

    def stop(self, number: int) -> None:
        """The first signal stops the eval cleanly; a second one at once."""
        if self.signal is not None:
            self.abort()
            return
        self.signal = number
        name = signal.Signals(number).name
        self.log(f"{name}: stopping; running notebooks are interrupted, pending ones not run ({name} again stops at once)")
        for task, start in list(self.running.items()):
            self.background.append(asyncio.create_task(self._interrupt(task, start)))
        self.background.append(asyncio.create_task(self._wake()))

    def abort(self) -> None:
        """Kill every kernel and its processes, remove the socket folder and exit; no file is being written here."""
        for start in self.kernels:
            if start.done() and not start.cancelled() and start.exception() is None:
                start.result().kill()
        if self.launcher.owner:
            kill_owned(self.launcher.owner)
        shutil.rmtree(self.launcher.socket_dir, ignore_errors=True)
        os._exit(128 + (self.signal or signal.SIGINT))

    async def _interrupt(self, task: asyncio.Task, start: asyncio.Task) -> None:
        task.cancel()  # first, so that the interrupted cell is never recorded as a failure
        if start.done() and not start.cancelled() and start.exception() is None:
            await start.result().interrupt()

    async def _wake(self) -> None:
        async with self.condition:
            self.condition.notify_all()

    async def take(self):
        """The next job that can start now and its GPU, or None when there is none left (or the eval stops)."""
        async with self.condition:
            while self.pending and self.signal is None and not self.closing:
                chosen = next_job(self.pending, self.free, self.use_gpus)
                if chosen is not None:
                    job = self.pending.pop(chosen)
                    gpu, cuda = devices_for(job, self.free, self.use_gpus)
                    return job, gpu, cuda
                await self.condition.wait()
            return None

    async def release(self, gpu: str | None) -> None:
        async with self.condition:
            if gpu is not None:
                self.free.extend(gpu.split(","))
            self.condition.notify_all()

    def launch(self) -> asyncio.Task:
        start = asyncio.create_task(KernelSession(self.launcher, next(self.numbers)).start())
        self.kernels.append(start)
        return start

    async def worker(self, results: list[RunResult]) -> None:
        warm = None
        try:
            while (item := await self.take()) is not None:
                job, gpu, _ = item
                self.progress.started(job, gpu)
                start = warm or self.launch()
                warm = self.launch() if self.pending else None
                result = await self.run_job(item, start)
                results.append(result)
                self.progress.finished(result)
        finally:
            if warm is not None:
                self.background.append(asyncio.create_task(self.stop_kernel(warm, graceful=False)))

    async def run_job(self, item, start: asyncio.Task) -> RunResult:
        """Run one job on the kernel ``start`` gives; an interruption makes it ``interrupted``."""
        job, gpu, cuda = item
        began = asyncio.get_running_loop().time()
        task = asyncio.create_task(self.run_notebook(job, start, gpu, cuda))
        self.running[task] = start
        try:
            return await task
        except asyncio.CancelledError:
            if not task.cancelled():  # this worker itself is cancelled
                task.cancel()
                raise
            return RunResult(job, Status.INTERRUPTED, asyncio.get_running_loop().time() - began, f"{job.chapter}: interrupted", gpu=gpu)
        finally:
            del self.running[task]
            self.background.append(asyncio.create_task(self.stop_kernel(start, graceful=self.signal is not None)))
            await self.release(gpu)

    async def run_notebook(self, job: Job, start: asyncio.Task, gpu: str | None, cuda: str) -> RunResult:
        try:
            session = await start
        except KernelStartError as err:  # the kernel process could not be launched
            return RunResult(job, Status.FAILED, 0.0, f"{job.chapter}: kernel failed to start: {err}", gpu=gpu, failure=err.failure)
        cwd = (self.store.root / job.result).parent
        cwd.mkdir(parents=True, exist_ok=True)
        source = self.store.sources.get(job.chapter)
        result, notebook = await session.run(job, self.store.root, str(cwd), cuda, self.store.index, source)
        result.gpu = gpu
        if self.signal is not None and result.status is Status.FAILED:  # the interrupt itself may have ended it
            raise asyncio.CancelledError
        self.store.save(result, notebook)
        return result

    async def stop_kernel(self, start: asyncio.Task, graceful: bool) -> None:
        try:
            session = await start
        except BaseException:  # the kernel never started: nothing to stop
            return
        await session.stop(graceful)
