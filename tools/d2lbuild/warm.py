"""Warm kernels: a template process per tab environment imports the framework once, and forks one kernel per notebook.

Each kernel is still a fresh process (a fork of the template, which never runs notebook code and never imports the
book's own modules). jupyter_client drives it through ``WarmProvisioner``, a local provisioner whose process is a
forked child instead of a ``Popen``: interrupts, kills, restarts and death detection work as with any kernel.
When warm kernels cannot be used (no fork, the template failed or died, a child did not come up) the kernels start
cold, and the reason is logged once.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .runner import kernel_environment, shutdown, wait_until_ready

TEMPLATE_SCRIPT = Path(__file__).with_name("warm_template.py")
TEMPLATE_BOOT_SECONDS = 300.0
FORK_SECONDS = 30.0
READY_SECONDS = 120.0  # as long as a cold kernel may take to start
UNKNOWN_EXIT = 1  # the exit status of a kernel whose template died before it could report it


def library_preload(library: Path, book_root: Path) -> tuple[str, ...]:
    """The third-party modules a library file imports at module level, without the standard library or the book's own."""
    try:
        tree = ast.parse(library.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return ()
    names: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            names += [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            names += [f"{statement.module}.{alias.name}" for alias in statement.names if alias.name != "*"]
    return without_book_modules(tuple(dict.fromkeys(n for n in names if top(n) not in sys.stdlib_module_names)), book_root)


def without_book_modules(names: tuple[str, ...], book_root: Path) -> tuple[str, ...]:
    """Drop modules of the book's own tree (``d2l`` and anything else importable from its root)."""
    return tuple(n for n in names if not ((book_root / top(n)).exists() or (book_root / f"{top(n)}.py").exists()))


def top(name: str) -> str:
    return name.partition(".")[0]


class WarmProcess:
    """A forked kernel, with the part of ``subprocess.Popen`` that ``LocalProvisioner`` uses."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, template: Template):
        self.pid = pid
        self.template = template
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.template.exit_status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"kernel {self.pid} still running")
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.killpg(self.pid, signum)
            except ProcessLookupError:  # it ended before the template reported it: as Popen.send_signal, nothing to do
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


@functools.cache
def warm_provisioner_class():
    """``WarmProvisioner``: a local provisioner whose kernel process is forked by a template instead of started by ``Popen``.

    Made on first use, so that importing this module does not import jupyter_client (the template starts earlier).
    """
    from jupyter_client.provisioning import LocalProvisioner

    class WarmProvisioner(LocalProvisioner):
        template: Template | None = None

        async def launch_kernel(self, cmd: list[str], **kwargs):
            assert self.template is not None
            self.process = await self.template.fork(cmd, kwargs.get("env") or kernel_environment({}), str(kwargs.get("cwd") or os.getcwd()))
            self.pid = self.pgid = self.process.pid
            self.cwd = kwargs.get("cwd")
            return self.connection_info

    return WarmProvisioner


class Template:
    """The template process of one tab environment, and the kernels it forked.

    ``spawn`` starts it at once (it imports the kernel machinery meanwhile), ``start`` hands it the modules to preload
    and waits until it is ready; so the imports overlap whatever the caller does in between.
    """

    def __init__(self, python: str, env: dict[str, str], modules: tuple[str, ...]):
        self.python = python
        self.env = env
        self.modules = modules
        self.loaded: list[str] = []
        self.dropped: list[str] = []
        self.process: subprocess.Popen | None = None
        self.events: asyncio.StreamReader | None = None
        self.exits: dict[int, int] = {}
        self.forks: dict[int, asyncio.Future] = {}
        self.numbers = itertools.count()
        self.reader: asyncio.Task | None = None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.reader is not None and not self.reader.done()

    def spawn(self, cwd: str) -> None:
        """Start the template process; it imports the kernel machinery while it waits for its preload list."""
        self.process = subprocess.Popen(
            [self.python, str(TEMPLATE_SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env, cwd=cwd,
            start_new_session=True,
        )

    async def start(self, cwd: str) -> None:
        """Preload the modules and wait until the template is ready; raises RuntimeError when it cannot be."""
        if self.process is None:
            self.spawn(cwd)
        assert self.process is not None and self.process.stdout is not None
        self.events = asyncio.StreamReader(limit=2**20)
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self.events), self.process.stdout)
        try:
            self.send({"preload": list(self.modules)})
        except RuntimeError:  # it died while importing the kernel machinery, before it read its list
            line = b""
        else:
            line = await asyncio.wait_for(self.events.readline(), TEMPLATE_BOOT_SECONDS)
        while True:
            if not line:
                status = await self.wait_exit()
                raise RuntimeError(f"the template process exited with status {status} while importing")
            message = json.loads(line)
            if message["event"] == "dropped":
                self.dropped.append(f"{message['module']} ({message['error']})")
            elif message["event"] == "ready":
                self.loaded = message["modules"]
                break
            elif message["event"] == "refused":
                raise RuntimeError(message["reason"])
            line = await asyncio.wait_for(self.events.readline(), TEMPLATE_BOOT_SECONDS)
        self.reader = asyncio.create_task(self.read_events())

    def send(self, message: dict) -> None:
        """One request to the template (small: a pipe takes it at once, while the template reads every line)."""
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except OSError as err:  # it died
            raise RuntimeError("the template process is not running") from err

    async def read_events(self) -> None:
        assert self.events is not None
        while line := await self.events.readline():
            message = json.loads(line)
            if message["event"] == "forked":
                future = self.forks.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message["pid"])
            elif message["event"] == "exit":
                self.exits[message["pid"]] = message["status"]
            elif message["event"] == "refused":
                future = self.forks.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_exception(RuntimeError(message["reason"]))
        await self.wait_exit()
        for future in self.forks.values():
            if not future.done():
                future.set_exception(RuntimeError("the template process died"))

    async def wait_exit(self) -> int:
        """The template's exit status, once it has ended (its output is closed by then, or about to be)."""
        assert self.process is not None
        while (status := self.process.poll()) is None:
            await asyncio.sleep(0.01)
        return status

    async def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> WarmProcess:
        """A new kernel process running ``argv`` (an ``ipykernel_launcher`` command line) with ``env`` in ``cwd``."""
        if not self.alive or "ipykernel_launcher" not in argv:
            raise RuntimeError("the template process is not running")
        number = next(self.numbers)
        future = asyncio.get_running_loop().create_future()
        self.forks[number] = future
        self.send({"fork": number, "argv": argv, "env": env, "cwd": cwd})
        pid = await asyncio.wait_for(future, FORK_SECONDS)
        return WarmProcess(pid, self)

    def exit_status(self, pid: int) -> int | None:
        """The exit status of a forked kernel, or None while it runs."""
        if pid in self.exits:
            return self.exits[pid]
        if self.alive:
            return None
        return None if process_running(pid) else UNKNOWN_EXIT  # orphaned when the template died

    async def close(self) -> None:
        """End the template: it kills the kernels still running and exits."""
        if self.process is None:
            return
        if self.reader is None:  # it never became ready
            self.process.kill()
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:  # the template is gone, with a request still unread: nothing left to tell it
                pass
        try:
            await asyncio.wait_for(self.wait_exit(), 5)
        except asyncio.TimeoutError:
            self.process.kill()
            await self.wait_exit()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def discard(self) -> None:
        """Kill a template that will not be used (outside of an event loop)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def process_running(pid: int) -> bool:
    """Whether a process that is not our child still runs (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        return state != "Z"
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WarmKernels:
    """Starts kernels of one tab by forking its template; says once when it falls back to cold kernels."""

    def __init__(self, python: str, env: dict[str, str], modules: tuple[str, ...], book_root: str, home: str, log):
        """Kernels of ``python`` with ``env`` on top of this process's environment, preloading ``modules``."""
        self.python = python
        self.variables = env
        self.template = Template(python, template_env(kernel_environment(env), book_root), modules)
        self.home = home
        self.log = log
        self.off_reason: str | None = None if hasattr(os, "fork") else "fork is not available on this platform"
        self.logged = False
        self.booting: asyncio.Task | None = None

    def spawn(self) -> None:
        """Start the template now (kernels are forked once ``start`` is first called); the modules may change until then."""
        if self.off_reason is None and self.template.process is None:
            try:
                self.template.spawn(self.home)
            except OSError as err:
                self.fall_back(f"the template process failed: {err}")

    def discard(self) -> None:
        """Kill a spawned template that will not be used."""
        self.template.discard()

    async def start(self, manager, cwd: str, env: dict[str, str]):
        """Start ``manager``'s kernel as a fork of the template and wait until it answers; None when it could not."""
        if not await self.ready():
            return None
        kernel_id = manager.kernel_id or str(uuid.uuid4())
        provisioner = warm_provisioner_class()(kernel_id=kernel_id, kernel_spec=manager.kernel_spec, parent=manager)
        provisioner.template = self.template
        manager.kernel_id = provisioner.kernel_id
        manager.provisioner = provisioner
        try:
            await manager.start_kernel(cwd=cwd, env=env)
            await wait_until_ready(manager, READY_SECONDS)
        except Exception as err:  # the child did not come up: this and every later kernel start cold
            await shutdown(manager)  # killed, with whatever of it started
            if self.template.process is not None and not self.template.alive:
                await asyncio.gather(self.template.reader, return_exceptions=True)
                self.fall_back(f"the template process died ({describe_status(self.template.returncode)})")
            self.fall_back(f"a forked kernel did not come up ({err or type(err).__name__})")
            self.log_once()
            return None
        return manager

    async def ready(self) -> bool:
        """Whether kernels can be forked now; the first call starts the template."""
        if self.off_reason is None:
            if self.booting is None:
                self.booting = asyncio.create_task(self.boot())
            await asyncio.shield(self.booting)
            if self.off_reason is None and not self.template.alive:
                self.fall_back(f"the template process died ({describe_status(self.template.returncode)})")
        self.log_once()
        return self.off_reason is None

    async def boot(self) -> None:
        try:
            await self.template.start(self.home)
        except Exception as err:  # noqa: BLE001 - whatever went wrong, kernels start cold
            self.fall_back(f"the template process failed: {err or type(err).__name__}")
            return
        for dropped in self.template.dropped:
            self.log(f"warm kernels: cannot preload {dropped}; dropped")

    def fall_back(self, reason: str) -> None:
        if self.off_reason is None:
            self.off_reason = reason

    def log_once(self) -> None:
        if self.off_reason is not None and not self.logged:
            self.logged = True
            self.log(f"warm kernels off: {self.off_reason}; kernels start cold")

    async def close(self) -> None:
        if self.booting is not None:
            self.booting.cancel()  # still importing (Ctrl-C early in an eval): no need to wait for it
            await asyncio.gather(self.booting, return_exceptions=True)
        await self.template.close()


def describe_status(code: int | None) -> str:
    if code is None:
        return "status unknown"
    if code < 0:
        return f"killed by {signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f'signal {-code}'}"
    return f"exit status {code}"


# math libraries that start a thread pool when loaded (NumPy's OpenBLAS): one thread in the template, which must have
# no thread but its own when it forks; each kernel sets its share after the fork
TEMPLATE_SINGLE_THREADED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def template_env(env: dict[str, str], book_root: str) -> dict[str, str]:
    """The kernels' variables without the book's root on PYTHONPATH: the template never imports the book's modules."""
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.abspath(p) != os.path.abspath(book_root)]
    result = {**env, "PYTHONPATH": os.pathsep.join(paths), **dict.fromkeys(TEMPLATE_SINGLE_THREADED, "1")}
    if not paths:
        del result["PYTHONPATH"]
    return result



