"""The template process of warm kernels: it imports the kernel machinery and the preload modules once, then forks kernels.

It runs in a tab's environment, which has no d2lbuild, so it imports nothing from this package. Protocol, one JSON
object per line: it imports the kernel machinery at once, then reads ``{"preload": [MODULE, ...]}`` on stdin, imports
those and answers ``{"event": "dropped", ...}`` on stdout for each module it could not import, then
``{"event": "ready", "modules": [...]}``, or ``{"event": "refused", "reason": ...}`` when it cannot fork safely (a
second thread, a GPU in use) and exits. After that the parent writes ``{"fork": ID, "argv": [...], "env": {...},
"cwd": DIR}``; the template answers ``{"event": "forked", "id": ID, "pid": PID}`` (or ``{"event": "refused", "id": ID,
"reason": ...}``) and later ``{"event": "exit", "pid": PID, "status": S}`` (``S`` as ``Popen.returncode``: the exit
code, or minus the signal). End of stdin: it kills the kernels it forked that are still running, and exits.

SIGCHLD is blocked from before each fork until the child is registered, and while the exit loop walks the
children: the handler never changes the set under a walk, and a child is reaped (its process ID freed) only once
it is registered, so the exit loop never kills a reused ID.
"""

import gc
import importlib
import json
import os
import signal
import sys

KERNEL_MACHINERY = ("ipykernel.kernelapp", "ipykernel.ipkernel")
# what a kernel imports while it starts and runs its first cells (the debugger's modules weigh most), and what
# formats a traceback; imported when present
KERNEL_EXTRAS = (
    "ipykernel.zmqshell", "ipykernel.debugger", "IPython.core.completer", "IPython.core.completerlib",
    "IPython.core.debugger", "IPython.core.logger", "IPython.core.oinspect", "IPython.extensions.storemagic",
    "IPython.utils.wildcard", "sqlite3", "psutil", "pdb", "faulthandler", "fractions", "stack_data",
    "tornado.platform.asyncio",
)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def main() -> None:
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # the toolchain's folder is not for the notebooks to import from
    commands, replies = protocol_files()
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as the kernel sets it, before matplotlib reads it
    import_kernel_machinery()
    first = commands.readline()
    if not first:  # not needed after all
        os._exit(0)
    modules = preload(json.loads(first)["preload"], replies)
    problem = fork_problem()
    if problem:
        reply(replies, {"event": "refused", "reason": problem})
        os._exit(0)
    gc.collect()
    gc.freeze()  # the preloaded objects leave the collector's view: kernels do not copy their pages by collecting
    reply(replies, {"event": "ready", "modules": modules})
    children: set[int] = set()
    signal.signal(signal.SIGCHLD, lambda *_: reap(children, replies))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in commands:
        request = json.loads(line)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            problem = fork_problem()
            if problem:
                reply(replies, {"event": "refused", "id": request["fork"], "reason": problem})
                continue
            pid = os.fork()
            if pid == 0:
                become_kernel(request, commands, replies)
            children.add(pid)
            reply(replies, {"event": "forked", "id": request["fork"], "pid": pid})
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    for pid in list(children):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)  # nothing to save: skip the interpreter's teardown of everything preloaded


def fork_problem():
    """Why forking now would give a broken kernel: another thread (its locks would stay held in the child), or a
    GPU driver context (CUDA and its peers do not survive a fork); None when it is safe."""
    threads = thread_count()
    if threads > 1:
        return f"the template runs {threads} threads after preloading (a fork copies only one)"
    gpu = gpu_in_use()
    if gpu:
        return f"a GPU was initialized while preloading ({gpu}); a fork would not have it"
    return None


def thread_count() -> int:
    """The threads of this process, native ones included (Linux lists them; elsewhere Python's own)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def gpu_in_use():
    """A preloaded framework that has initialized a GPU: an open GPU device, or a framework's own word for it."""
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(("/dev/nvidia", "/dev/kfd", "/dev/dri/")):
                return f"{target} is open"
    except OSError:
        pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return "torch initialized CUDA"
    context = sys.modules.get("tensorflow.python.eager.context")
    runtime = context.context_safe() if context is not None and hasattr(context, "context_safe") else None
    if getattr(runtime, "_context_handle", None) is not None:
        return "TensorFlow created its runtime (and its devices)"
    bridge = sys.modules.get("jax._src.xla_bridge")
    if bridge is not None and getattr(bridge, "_backends", None):
        return "JAX initialized its backends"
    return None


def protocol_files():
    """Move the protocol off fds 0 and 1, so that nothing else (imports, kernels) writes into it."""
    commands = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return commands, replies


def reply(fd: int, message: dict) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


def import_kernel_machinery() -> None:
    """What every kernel imports, whatever its tab."""
    for name in KERNEL_MACHINERY:
        importlib.import_module(name)
    for name in KERNEL_EXTRAS:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a kernel without it imports nothing there either
            pass


def preload(names: list[str], replies: int) -> list[str]:
    """Import each module; a module that fails is reported and dropped."""
    loaded = []
    for name in names:
        try:
            import_module_or_parent(name)
        except BaseException as err:  # noqa: BLE001 - any failure only drops the module
            reply(replies, {"event": "dropped", "module": name, "error": f"{type(err).__name__}: {err}".strip()})
            continue
        loaded.append(name)
    return loaded


def import_module_or_parent(name: str) -> None:
    """Import ``a.b``; when ``b`` is a name inside ``a`` rather than a module (``from a import b``), import ``a``."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as err:
        parent = name.rpartition(".")[0]
        if not parent or err.name != name:
            raise
        importlib.import_module(parent)


def reap(children: set[int], replies: int) -> None:
    """Report every child that ended (a child may end before its fork is even answered)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        reply(replies, {"event": "exit", "pid": pid, "status": code})


def become_kernel(request: dict, commands, replies: int) -> None:
    """In the forked child: take the notebook's settings, reseed, and run the kernel; never return."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        signal.signal(signal.SIGINT, signal.default_int_handler)
        commands.close()
        os.close(replies)
        apply_settings(request)
        reseed()
        run_kernel(request["argv"])
        code = 0
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except BaseException:  # noqa: BLE001 - report it on stderr like a kernel that fails to start
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def apply_settings(request: dict) -> None:
    """The environment, ``sys.path`` (PYTHONPATH first, so the repository's library wins), folder and threads."""
    env = dict(request["env"])
    os.environ.clear()
    os.environ.update(env)
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    first = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = first + [entry for entry in sys.path if entry not in first]
    importlib.invalidate_caches()
    os.chdir(request["cwd"])
    threads = env.get("OMP_NUM_THREADS", "")
    torch = sys.modules.get("torch")
    if torch is not None and threads.isdigit():
        torch.set_num_threads(int(threads))
    if threads.isdigit() and int(threads) > 1:  # the template's math libraries run one thread (no pool to fork)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            threadpool_limits(int(threads))


def reseed() -> None:
    """Fresh entropy for every generator a new process would seed from entropy.

    MXNet's is left as it is: its generator starts from a fixed seed in a new process, and in a fork of a template
    that drew nothing from it. TensorFlow seeds its ops' generators on first use, after the fork.
    """
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()  # the CUDA generators are seeded lazily, without initializing CUDA


def run_kernel(argv: list[str]) -> None:
    """Run ipykernel as ``python -m ipykernel_launcher ARGS`` would, in this process."""
    from ipykernel.kernelapp import IPKernelApp

    args = argv[argv.index("ipykernel_launcher") + 1:]
    sys.argv = [argv[0], *args]
    # parent_handle 1: no polling for the parent (the kernel outlives its template; d2lbuild stops it by its pid),
    # and no console banner (the trait's default was read from the template's environment)
    app = IPKernelApp.instance(parent_handle=1)
    app.initialize(args)
    inline = sys.modules.get("matplotlib_inline.backend_inline")
    if inline is not None and hasattr(inline, "_enable_matplotlib_integration"):
        inline._enable_matplotlib_integration()  # it ran at import, in the template, where no shell existed
    app.start()


if __name__ == "__main__":
    main()
