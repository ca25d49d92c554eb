"""The node side of ``eval --cluster``: a Ray actor per node and tab that runs notebooks sent by the driver.

The agent keeps a node-local folder (``D2LBUILD_NODE_DIR``, default ``~/.cache/d2lbuild-node``): the book's files
stored by content digest (each sent once per node), the tab's environment built from its specification, keyed by
the specification's digest, and one working folder per eval that mirrors the book's root (library, resources,
``build/eval/TAB``). Kernels are forked from a warm template the agent keeps for the whole eval, as locally, and
driven with the same runner. Nothing here writes the driver's files: results go back as plain data.

Ray is imported only on the nodes and by ``cluster``; this module is imported by Ray when a node runs a task.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .bytecode import compile_library
from .errors import BuildError
from .formats import NOTEBOOK_SUFFIX
from .fsutil import file_digest, source_digest
from .hashing import digest
from .layout import NODE_ENV_DIR, eval_dir
from .platforms import venv_python
from .reaper import kill_owned, owner_token
from .runner import KernelLauncher, KernelSession, KernelStartError, RunResult, kernel_environment, socket_folder
from .schedule import Job, Status
from .warm import process_running

NODE_DIR_VARIABLE = "D2LBUILD_NODE_DIR"
AGENT_PID = ".agent.pid"
DONE_POLL_SECONDS = 0.01
OUTPUT_LIMIT = 64 * 2**20  # bytes of files one notebook may send back beside its executed notebook


def node_home() -> Path:
    """The node-local folder of d2lbuild's cluster agents."""
    configured = os.environ.get(NODE_DIR_VARIABLE)
    return Path(configured) if configured else Path.home() / ".cache" / "d2lbuild-node"


def node_name() -> str:
    """How the driver names this node: ``D2LBUILD_NODE_NAME``, else the host name, with the short Ray node id."""
    import ray

    short = ray.get_runtime_context().get_node_id()[:8]
    return f"{os.environ.get('D2LBUILD_NODE_NAME') or socket.gethostname()} ({short})"


def spec_digest(tab: str, spec: dict) -> str:
    """The digest of an environment specification (requirements, python), as ``d2lbuild env`` reads it."""
    return digest(json.dumps({"tab": tab, **spec}, sort_keys=True))[:16]


def node_environment(tab: str, spec: dict, home: Path, root: Path, log) -> str:
    """The interpreter of the tab's environment on this node, built once per specification; BuildError when it cannot be.

    Requirement files (``-r FILE``, ``-c FILE``) are read from ``root``, where the book's copies were laid out.
    """
    from .envs import file_option, install_environment

    if spec.get("python"):
        python = shutil.which(spec["python"]) or spec["python"]
        if not Path(python).exists():
            raise BuildError("config.ini", f"[eval-{tab}] python: {spec['python']} not found on this node")
        check_interpreter(python, tab)
        return python
    if not spec.get("requirements"):
        return sys.executable  # as locally: the interpreter that runs d2lbuild (here: the node's Ray worker's)
    from filelock import FileLock

    folder = home / NODE_ENV_DIR / f"{tab}-{spec_digest(tab, {**spec, 'base': sys.version})}"  # as d2lbuild env: this Python too
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        python = str(venv_python(folder))
        if not (folder / ".d2lbuild-ready").is_file():
            log(f"env {tab}: creating {folder} ({', '.join(spec['requirements'])})")
            arguments = []
            for line in spec["requirements"]:
                option = file_option(line)
                arguments += [option[0], str(root / option[1])] if option else [line]
            install_environment(folder, arguments, tab)
            (folder / ".d2lbuild-ready").write_text(json.dumps(spec) + "\n")
        return python


def check_interpreter(python: str, tab: str) -> None:
    """The node's ``python =`` interpreter runs and has ipykernel and the tab's framework, as eval checks on the driver."""
    from .config import DEFAULT_MODULES
    from .envs import CHECK_MODULES, KERNEL_PACKAGES

    modules = [*KERNEL_PACKAGES, *([DEFAULT_MODULES[tab]] if tab in DEFAULT_MODULES else [])]
    try:
        result = subprocess.run([python, "-c", CHECK_MODULES, *modules], capture_output=True, text=True, timeout=120)
        missing = json.loads(result.stdout) if result.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired) as err:
        raise BuildError("config.ini", f"[eval-{tab}] python: {python} cannot be run on this node: {err}") from None
    if not isinstance(missing, list):
        raise BuildError("config.ini", f"[eval-{tab}] python: {python} is not a working Python interpreter on this node")
    if missing:
        raise BuildError("config.ini", f"[eval-{tab}] python: {python} lacks {' and '.join(missing)} on this node")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``folder`` (hidden folders left out)."""
    found = {}
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        stat = path.stat()
        found[relative.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def written_files(root: Path, folder: Path, before: dict[str, tuple[int, int]], skip: set[str]) -> tuple[dict[str, bytes], list[str]]:
    """Files that appeared or changed under ``folder`` since ``before``, by path from ``root``, and those too big to send.

    Notebooks and ``skip`` (the resource copies, as paths from ``root``) are left out.
    """
    files, dropped, size = {}, [], 0
    base = folder.relative_to(root).as_posix()
    for name, stamp in sorted(snapshot(folder).items()):
        relative = f"{base}/{name}"
        if before.get(name) == stamp or name.endswith(NOTEBOOK_SUFFIX) or relative in skip:
            continue
        data = (folder / name).read_bytes()
        if size + len(data) > OUTPUT_LIMIT:
            dropped.append(relative)
            continue
        size += len(data)
        files[relative] = data
    return files, dropped


class NodeAgent:
    """Runs the notebooks of one tab on one node for one eval (a Ray actor, made by ``cluster``)."""

    def __init__(self, tab: str, run: str, driver_root: str):
        self.tab, self.driver_root = tab, driver_root
        self.home = node_home()
        self.store = self.home / "files"
        self.root = self.home / "runs" / run  # mirrors the book's root for this eval
        self.name = ""
        self.messages: list[str] = []
        self.events: list[dict] = []
        self.launcher: KernelLauncher | None = None
        self.index: dict = {}
        self.resources: set[str] = set()
        self.spare: asyncio.Task | None = None
        self.running: dict[str, tuple[asyncio.Task, asyncio.Task]] = {}
        self.numbers = iter(range(1 << 30))
        self.stopping = False
        self.owner = owner_token()  # every process of its kernels carries it: what cells leave running is ended at close
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / AGENT_PID).write_text(str(os.getpid()))

    def log(self, message: str) -> None:
        self.messages.append(f"node {self.name}: {message}")

    async def prepare(self, setup: dict) -> dict:
        """Check d2lbuild's version; the digests of the files this node does not have yet, or its error."""
        self.name = node_name()
        if setup["tool"] != source_digest():
            return {"node": self.name, "error": "d2lbuild: this node runs another d2lbuild than the driver (install the same version)"}
        self.setup = setup
        wanted = set(setup["files"].values())
        return {"node": self.name, "missing": sorted(d for d in wanted if not (self.store / d).is_file())}

    async def install(self, blobs: dict) -> dict:
        """Store the files sent (object references by digest), lay out the working folder, build the environment, start the template."""
        try:
            await self.lay_out(blobs)
            self.python = await asyncio.to_thread(node_environment, self.tab, self.setup["spec"], self.home, self.root, self.log)
        except BuildError as err:
            return {"error": str(err), "messages": self.take_messages()}
        except OSError as err:
            return {"error": f"{err.filename or self.home}: {err.strerror or err}", "messages": self.take_messages()}
        await self.start_kernels()
        return {"messages": self.take_messages()}

    async def lay_out(self, blobs: dict) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        for name, ref in blobs.items():
            data = await ref
            temporary = self.store / f".{name}.{os.getpid()}.tmp"
            temporary.write_bytes(data)
            os.replace(temporary, self.store / name)
        setup = self.setup
        for relative, content in setup["files"].items():
            target = self.root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.store / content, target)

    async def start_kernels(self) -> None:
        """Byte-compile the library and start the warm template (its imports overlap the first notebook's wait)."""
        setup = self.setup
        self.resources = set(setup["resources"])
        self.index = setup["index"]
        variables = {name: self.to_node(value) for name, value in setup["variables"].items()}
        folder = self.root / eval_dir(self.tab)
        folder.mkdir(parents=True, exist_ok=True)
        library = tuple(str(self.root / relative) for relative in setup["library"])
        await asyncio.to_thread(compile_library, self.python, library, kernel_environment(variables))
        warm, sockets = None, socket_folder()
        if setup["preload"] is not None:
            from .warm import WarmKernels

            warm = WarmKernels(self.python, variables, tuple(setup["preload"]), str(self.root), sockets, self.log)
            warm.spawn()
        self.launcher = KernelLauncher(self.tab, self.python, variables, str(folder), sockets, warm, self.owner)
        self.spare = self.launch()

    def to_node(self, text: str) -> str:
        return text.replace(self.driver_root, str(self.root))

    def to_driver(self, text: str) -> str:
        return text.replace(str(self.root), self.driver_root)

    def take_messages(self) -> list[str]:
        messages, self.messages = self.messages, []
        return messages

    def launch(self) -> asyncio.Task:
        """A kernel session starting now (launched and made ready while the caller does other work)."""
        assert self.launcher is not None
        return asyncio.create_task(self.start_session(KernelSession(self.launcher, next(self.numbers))))

    async def start_session(self, session: KernelSession) -> KernelSession:
        """The session, ready; one that fails or is cancelled on the way leaves no process behind."""
        try:
            return await session.start()
        except asyncio.CancelledError:
            session.kill()
            raise
        except Exception:
            await session.stop(graceful=False)
            raise

    def started_since(self, cursor: int) -> list[dict]:
        """Notebooks that started here, from the ``cursor``-th on."""
        return self.events[cursor:]

    async def run(self, payload: dict, cuda: str, done: str) -> dict:
        """Execute one notebook; its result, executed notebook and written files as plain data (never raises for a notebook).

        The file ``done`` is created when the reply is ready: the task waits for it without blocking in Ray, which
        would give the task's CPU to another task meanwhile.
        """
        try:
            return await self.run_notebook(payload, cuda)
        finally:
            Path(done).parent.mkdir(parents=True, exist_ok=True)
            Path(done).touch()

    async def run_notebook(self, payload: dict, cuda: str) -> dict:
        job = Job(**payload["job"])
        if self.stopping or self.launcher is None:
            return {"status": Status.NOT_RUN.value, "node": self.name}
        self.events.append({"chapter": job.chapter, "node": self.name, "at": time.time(), "gpu": cuda or None})
        notebook = self.root / job.notebook
        notebook.parent.mkdir(parents=True, exist_ok=True)
        notebook.write_text(payload["text"])
        cwd = (self.root / job.result).parent
        cwd.mkdir(parents=True, exist_ok=True)
        before = snapshot(cwd)
        start, self.spare = (self.spare or self.launch()), None
        self.spare = self.launch() if not self.stopping else None
        began = time.monotonic()
        task = asyncio.create_task(self.execute(job, start, cwd, cuda, payload["text"]))
        self.running[job.chapter] = (task, start)
        try:
            result, executed = await task
        except asyncio.CancelledError:
            return {"status": Status.INTERRUPTED.value, "seconds": time.monotonic() - began, "node": self.name,
                    "reason": f"{job.chapter}: interrupted", "messages": self.take_messages()}
        finally:
            del self.running[job.chapter]
            asyncio.create_task(self.stop_kernel(start, graceful=self.stopping))
        files, dropped = written_files(self.root, cwd, before, self.resources) if executed is not None else ({}, [])
        for name in dropped:
            self.log(f"{job.chapter}: {name} not sent back (over {OUTPUT_LIMIT >> 20} MB of output files)")
        return {
            "status": result.status.value, "seconds": result.seconds, "reason": self.to_driver(result.reason),
            "traceback": self.to_driver(result.traceback), "failure": result.failure.value if result.failure else None,
            "notebook": self.to_driver(executed) if executed is not None else None, "files": files, "node": self.name, "gpu": cuda or None,
            "messages": self.take_messages(),
        }

    async def execute(self, job: Job, start: asyncio.Task, cwd: Path, cuda: str, text: str) -> tuple[RunResult, str | None]:
        import nbformat

        try:
            session = await start
        except KernelStartError as err:  # the kernel could not be launched, or never answered
            return RunResult(job, Status.FAILED, 0.0, f"{job.chapter}: kernel failed to start: {err}", failure=err.failure), None
        result, notebook = await session.run(job, self.root, str(cwd), cuda, self.index, text)
        if self.stopping and result.status is Status.FAILED:  # the interrupt itself may have ended it
            raise asyncio.CancelledError
        return result, nbformat.writes(notebook)

    async def stop_kernel(self, start: asyncio.Task, graceful: bool) -> None:
        try:
            session = await start
        except BaseException:  # never started (a failed start leaves nothing running)
            return
        await session.stop(graceful)

    async def stop(self) -> None:
        """Ctrl-C on the driver: no notebook starts here any more; running ones are interrupted."""
        self.stopping = True
        for task, start in list(self.running.values()):
            task.cancel()
            if start.done() and not start.cancelled() and start.exception() is None:
                await start.result().interrupt()

    async def close(self) -> list[str]:
        """End the eval here: kernels, the template and the working folder go."""
        await self.stop()
        while self.running:
            await asyncio.sleep(0.05)
        if self.spare is not None:
            await self.stop_kernel(self.spare, graceful=False)
        if self.launcher is not None:
            await self.launcher.close()
            shutil.rmtree(self.launcher.socket_dir, ignore_errors=True)
        kill_owned(self.owner)
        shutil.rmtree(self.root, ignore_errors=True)
        return self.take_messages()


def notebook_task(agent_name: str, run: str, payload: dict) -> dict:
    """A Ray task: run one notebook through this node's agent, with the GPUs Ray gave the task.

    It holds its CPU (or GPU) while the notebook runs: it waits for the agent's ``done`` file, as a task blocked in
    ``ray.get`` would lend its CPU to other tasks.
    """
    import uuid

    import ray

    try:
        agent = ray.get_actor(agent_name.replace("{node}", ray.get_runtime_context().get_node_id()))
    except ValueError:
        return {"status": "lost", "reason": "no agent of this eval on the node (it joined the cluster after the eval began)"}
    cuda = ",".join(str(gpu) for gpu in ray.get_gpu_ids())
    folder = node_home() / "runs" / run
    done = folder / ".done" / uuid.uuid4().hex
    reply = agent.run.remote(payload, cuda, str(done))
    try:
        agent_pid = int((folder / AGENT_PID).read_text())
    except (OSError, ValueError):
        agent_pid = None
    while not done.exists() and (agent_pid is None or process_running(agent_pid)):
        time.sleep(DONE_POLL_SECONDS)
    done.unlink(missing_ok=True)
    return ray.get(reply)


def file_digests(files: dict[str, Path]) -> dict[str, str]:
    """Relative path -> content digest."""
    return {relative: file_digest(path) for relative, path in files.items()}
