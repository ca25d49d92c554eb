"""Execute one notebook in a kernel of its tab's environment, and explain a failure in chapter lines."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .checks import chapter_position
from .errors import Position
from .inherited import inherited
from .platforms import has_process_groups, kernel_connection, kill_process_tree
from .reaper import OWNER_VARIABLE
from .schedule import Failure, Job, Status
from .tracemap import annotate_cell_frames, cells_by_count, failure_positions

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STARTUP_SECONDS = 120.0


@dataclass
class RunResult:
    """The outcome of one notebook: its status, and for a failure its kind, reason and traceback."""

    job: Job
    status: Status
    seconds: float = 0.0
    reason: str = ""
    traceback: str = ""
    gpu: str | None = None
    depends_on: list[str] = field(default_factory=list)
    failure: Failure | None = None
    remembered: bool = False  # a failure shown again from the last run, not run again
    node: str | None = None  # the cluster node it ran on (``eval --cluster``)
    retries: list[str] = field(default_factory=list)  # why it ran again elsewhere (a node lost)


@dataclass(frozen=True)
class KernelLauncher:
    """Starts kernels of one tab: its interpreter, environment variables, and ipc sockets.

    With ``warm`` (a ``warm.WarmKernels``), kernels are forked from a template that has imported the framework,
    and start cold when that is not possible.
    """

    tab: str
    python: str
    env: dict[str, str]
    cwd: str
    socket_dir: str
    warm: object | None = None
    owner: str = ""  # the eval's mark, inherited by every process of the kernel (see reaper)

    async def start(self, number: int):
        """Start a kernel process; it finishes booting while the caller does other work."""
        env = kernel_environment(self.env)
        if self.owner:
            env[OWNER_VARIABLE] = self.owner
        if self.warm is not None:
            manager = await self.warm.start(self.manager(f"w{number}"), self.cwd, env)
            if manager is not None:
                return manager
        manager = self.manager(f"k{number}")
        try:
            await manager.start_kernel(cwd=self.cwd, env=env)
        except BaseException:  # not launched, or the eval is stopping: nothing of it is kept
            kill_group(kernel_process_group(manager))
            release(manager)
            raise
        return manager

    def manager(self, name: str):
        """A kernel manager of this tab's kernelspec, its sockets named ``name`` in the socket folder."""
        from jupyter_client import AsyncKernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        spec_dir = Path(self.socket_dir) / "kernels" / f"d2l-{self.tab}"
        if not (spec_dir / "kernel.json").is_file():
            spec_dir.mkdir(parents=True, exist_ok=True)
            # history in memory: parallel kernels would otherwise contend for one SQLite file
            argv = [self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"]
            spec = {"argv": argv, "display_name": f"d2l {self.tab}", "language": "python"}
            (spec_dir / "kernel.json").write_text(json.dumps(spec))
        return AsyncKernelManager(
            kernel_name=f"d2l-{self.tab}",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
            **kernel_connection(self.socket_dir, name),
            connection_file=os.path.join(self.socket_dir, f"{name}.json"),
        )

    async def close(self) -> None:
        """Stop the warm kernels' template, if any."""
        if self.warm is not None:
            await self.warm.close()


def kernel_environment(variables: dict[str, str]) -> dict[str, str]:
    """The environment variables of a tab's kernels: those of this process that are inherited (see ``inherited``),
    with the tab's settings on top."""
    return {**inherited(os.environ), **variables}


def socket_folder() -> str:
    """A short private folder for ipc sockets (Unix socket paths are limited to about 100 bytes)."""
    return tempfile.mkdtemp(prefix="d2l-")


async def shutdown(manager, graceful: bool = False) -> None:
    """Stop a kernel and every process its cells started (its process group).

    ``graceful`` asks the kernel to shut down first and kills it only when it is still alive after
    the manager's ``shutdown_wait_time`` (5 s); otherwise it is killed at once.
    """
    group = kernel_process_group(manager)
    if not graceful:  # its results are in: nothing of it is worth waiting for
        kill_group(group)
        if not has_process_groups():  # Windows: the kernel's tree (the eval's reaper ends what left it)
            kill_process_tree(kernel_pid(manager))
    try:
        await manager.shutdown_kernel(now=not graceful)
    except Exception:  # the kernel may already be gone; its group is killed below
        pass
    finally:
        release(manager)
    kill_group(group)


def release(manager) -> None:
    """Close the manager's zmq sockets and context now.

    jupyter_client closes them at the end of a shutdown that succeeded; when the kernel was already gone the
    shutdown fails before that, and a context left to the garbage collector with sockets collected in the same
    pass can block the collector, and with it the process's exit, for good.
    """
    context = manager.context
    if not context.closed:
        context.destroy(linger=0)


def kernel_process_group(manager) -> int | None:
    """The process group of a kernel (jupyter_client starts each kernel in a session of its own)."""
    return getattr(getattr(manager, "provisioner", None), "pgid", None)


def kernel_pid(manager) -> int | None:
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


def kill_group(group: int | None) -> None:
    """Kill what is left of a kernel's process group: processes its cells started and did not end."""
    if group and has_process_groups() and group != os.getpgrp():
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:  # nothing left
            pass


def setup_code(cwd: str, cuda_visible_devices: str) -> str:
    """Run before a notebook's first cell: its working directory and the GPUs it may see."""
    return (
        "import os as _d2l_os\n"
        f"_d2l_os.chdir({cwd!r})\n"
        f"_d2l_os.environ['CUDA_VISIBLE_DEVICES'] = {cuda_visible_devices!r}\n"
        "del _d2l_os\n"
    )


class KernelError(Exception):
    """A kernel that failed its notebook by itself (not a cell's error); ``failure`` is how the report names it."""

    failure = Failure.DIED


class KernelStartError(KernelError):
    """The kernel process could not be launched, or never answered."""

    failure = Failure.NO_KERNEL


class KernelDied(KernelError):
    """The kernel process ended while a cell ran."""

    failure = Failure.DIED


class CellTimeout(KernelError):
    """A cell ran longer than its timeout."""

    failure = Failure.TIMED_OUT


class KernelSession:
    """One kernel's whole life: launched (a warm fork or a new interpreter) by a tab's launcher, made ready by
    nbclient, running one notebook through nbclient's public API, interrupted, stopped. Launch and readiness happen
    in ``start``, while the worker's previous notebook still runs. Failures are typed (KernelStartError, KernelDied,
    CellTimeout) and carried into the result."""

    def __init__(self, launcher: KernelLauncher, number: int):
        self.launcher, self.number = launcher, number
        self.manager = None
        self.client = None  # nbclient's NotebookClient, its kernel client ready

    async def start(self) -> KernelSession:
        """Launch the kernel and wait until it answers; KernelStartError when it cannot be launched or never answers."""
        import nbformat
        from nbclient import NotebookClient

        try:
            self.manager = await self.launcher.start(self.number)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as err:  # jupyter_client raises several unrelated types
            raise KernelStartError(str(err) or type(err).__name__) from err
        self.client = NotebookClient(nbformat.v4.new_notebook(), km=self.manager, startup_timeout=STARTUP_SECONDS)
        try:
            await self.client.async_start_new_kernel_client()
        except (RuntimeError, TimeoutError) as err:  # jupyter_client's words for a kernel that never became ready
            raise KernelStartError(str(err) or type(err).__name__) from err
        return self

    async def run(self, job: Job, root: Path, cwd: str, cuda: str, index: dict, source: str | None = None):
        """Run ``job``'s notebook (``source``: its text as planned, else the file): the result (its failure typed)
        and the executed notebook."""
        import nbformat

        notebook = nbformat.reads(source, as_version=4) if source is not None else nbformat.read(root / job.notebook, as_version=4)
        client = self.client
        client.nb, client.timeout = notebook, math.ceil(job.timeout)  # nbclient counts whole seconds
        return await execute(job, client, root, cwd, cuda, index)

    async def interrupt(self) -> None:
        if self.manager is not None:
            try:
                await self.manager.interrupt_kernel()
            except Exception:  # noqa: BLE001 - the kernel is gone already
                pass

    async def stop(self, graceful: bool) -> None:
        if self.client is not None and self.client.kc is not None:
            self.client.kc.stop_channels()
        if self.manager is not None:
            await shutdown(self.manager, graceful)

    def kill(self) -> None:
        """Kill the kernel's process group at once (the eval exits right after)."""
        if self.manager is not None:
            kill_group(kernel_process_group(self.manager))


async def execute(job: Job, client, root: Path, cwd: str, cuda: str, index: dict) -> tuple[RunResult, object]:
    """Run every cell of ``client``'s notebook in its ready kernel; returns the result and the executed notebook."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = client.nb
    started = time.monotonic()
    current = None
    try:
        await enter_folder(client, cwd, cuda)
        for number, cell in enumerate(notebook.cells):
            current = cell
            try:
                await client.async_execute_cell(cell, number, execution_count=client.code_cells_executed + 1)
            except CellTimeoutError as err:
                raise CellTimeout(f"{cell_position(current, job)}: cell timed out after {job.timeout:g} s") from err
            except DeadKernelError as err:
                raise KernelDied(f"{cell_position(current, job)}: {await death_reason(client.km)}") from err
        return RunResult(job, Status.OK, time.monotonic() - started), notebook
    except CellExecutionError as err:
        (reason, trace), kind = explain_error(job, current, err, root, index, notebook.cells), Failure.ERROR
    except KernelStartError as err:
        reason, trace, kind = f"{job.chapter}: kernel failed to start: {err}", "", err.failure
    except KernelError as err:
        reason, trace, kind = str(err), "", err.failure
    except (OSError, RuntimeError, ValueError) as err:  # the kernel's connection broke: the notebook fails, not the eval
        reason, trace, kind = f"{cell_position(current, job)}: {type(err).__name__}: {err}", "", Failure.DIED
    return RunResult(job, Status.FAILED, time.monotonic() - started, reason, trace, failure=kind), notebook


async def enter_folder(client, cwd: str, cuda: str) -> None:
    """Run the set-up code (the notebook's folder, its GPUs) before the first cell; KernelStartError when it fails."""
    try:
        message = client.kc.execute(setup_code(cwd, cuda), silent=True, store_history=False)
        reply = await client.async_wait_for_reply(message)
    except (RuntimeError, TimeoutError) as err:
        raise KernelStartError(str(err) or type(err).__name__) from err
    if reply is None or reply["content"]["status"] != "ok":
        raise KernelStartError(f"could not enter {cwd}")


async def wait_until_ready(manager, timeout: float) -> None:
    """Wait until ``manager``'s kernel answers (jupyter_client's own readiness check); KernelStartError if it never does."""
    client = manager.client()
    client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
    try:
        await client.wait_for_ready(timeout=timeout)
    except (RuntimeError, TimeoutError) as err:
        raise KernelStartError(str(err) or type(err).__name__) from err
    finally:
        client.stop_channels()


def cell_position(cell, job: Job, line_in_cell: int | None = None) -> Position | str:
    """The chapter position of a notebook cell (and of a line in it)."""
    if cell is None:
        return job.chapter
    where = cell.get("metadata", {}).get("d2lbuild")
    if not where:
        return job.chapter
    line = where["line"]
    if line_in_cell is not None:
        lines = where.get("lines")
        offset = line_in_cell - 1
        line = lines[offset] if lines and 0 <= offset < len(lines) else line + offset
    return Position(where["path"], line, where.get("cell"))


async def death_reason(manager) -> str:
    """Why a kernel died: its exit status or the signal that killed it."""
    await asyncio.sleep(0.2)
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    code = process.poll() if process is not None else None
    if code is None:
        return "the kernel died"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
        hint = " (out of memory?)" if -code == getattr(signal, "SIGKILL", 9) else ""
        return f"the kernel died: killed by {name}{hint}"
    return f"the kernel died: it exited with status {code}"


def explain_error(job: Job, cell, err, root: Path, index: dict, cells: list = ()) -> tuple[str, str]:
    """One line naming the chapter line that raised (and the call site in the failing cell, when elsewhere), and the
    traceback with every frame of a notebook cell or of the library mapped to its chapter line."""
    outputs = [out for out in (cell.get("outputs", []) if cell else []) if out.get("output_type") == "error"]
    trace = "\n".join(outputs[-1]["traceback"]) if outputs else str(err)
    trace = ANSI.sub("", trace)
    by_count = cells_by_count(trace, list(cells), cell)
    inner, call = failure_positions(trace, by_count)
    position = inner or cell_position(cell, job)
    message = f"{err.ename}: {err.evalue}".strip().splitlines()[0] if err.ename else "the cell raised an error"
    called = f" (called at {call})" if call is not None and call != inner else ""
    return f"{position}: {message}{called}", annotate_library_frames(annotate_cell_frames(trace, by_count), index)


def annotate_library_frames(trace: str, index: dict) -> str:
    """Add ``[saved at chapters/x.md:LINE]`` to every traceback frame inside the tab's library."""
    library = re.escape(index["library"])
    pattern = re.compile(rf"(\S*{library}):(\d+)|(\S*{library}), line (\d+)")
    lines = []
    for text in trace.splitlines():
        match = pattern.search(text)
        if match:
            number = int(match.group(2) or match.group(4))
            where = chapter_position(index, number)
            if where is not None:
                text = f"{text}  [saved at {where}]"
        lines.append(text)
    return "\n".join(lines)
