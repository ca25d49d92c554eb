"""Per-tab Python environments (``d2lbuild env``) and the GPUs this machine has."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import DEFAULT_MODULES, Config, config_position
from .errors import BuildError
from .fsutil import file_digest, write_atomic, write_if_changed
from .hashing import digest
from .layout import env_dir
from .platforms import venv_python
from .stopping import checkpoint
from .stores import StoreType

ENV_STAMP = StoreType("environment", 1, lambda data: isinstance(data, dict))  # what build/envs/TAB was made from

KERNEL_PACKAGES = ("ipykernel",)


@dataclass(frozen=True)
class Environment:
    """The interpreter a tab's kernels run and the digest of what is installed in it now."""

    tab: str
    python: str
    installed: str
    created: bool = False


def env_folder(root: Path, tab: str) -> Path:
    return root / env_dir(tab)


def _stamp(config: Config, tab: str) -> dict:
    """What the environment is made from: its requirement lines, the files they name (by content), the base Python."""
    settings = config.eval_settings(tab)
    files = {path.relative_to(config.root).as_posix() if path.is_relative_to(config.root) else str(path): file_digest(path)
             for path in requirement_files(config, tab)}
    return {"requirements": list(settings.requirements), "files": files, "python": settings.python, "base": sys.version}


def ensure_environment(config: Config, tab: str, log=print) -> Environment:
    """Create or reuse ``build/envs/TAB``; nothing is done when the requirements did not change."""
    settings = config.eval_settings(tab)
    folder = env_folder(config.root, tab)
    stamp = _stamp(config, tab)
    stamp_file, freeze_file = folder / "d2lbuild-env.json", folder / "freeze.txt"
    if settings.python:
        python = checked_interpreter(config, tab, log)
        return Environment(tab, python, installed_digest(python, tab, config.root))
    if not settings.requirements:  # no environment configured: this interpreter runs the kernels
        return Environment(tab, sys.executable, installed_digest(sys.executable, tab, config.root))
    python = str(venv_python(folder))
    if ENV_STAMP.read(stamp_file) == stamp and freeze_file.is_file() and Path(python).exists():
        write_kernelspec(config, tab, folder, python)
        return Environment(tab, python, installed_digest(python, tab, config.root))
    log(f"env {tab}: creating {folder.relative_to(config.root)} ({', '.join(settings.requirements)})")
    where = eval_key_position(config, tab, "requirements")[1]
    install_environment(folder, pip_arguments(config, tab), tab, where)
    checkpoint()  # stopped while installing: no stamp, so the next run makes the environment again
    freeze = _freeze(python)
    write_atomic(freeze_file, freeze)
    ENV_STAMP.write(stamp_file, stamp)
    write_kernelspec(config, tab, folder, python)
    log(f"env {tab}: ready, {len(freeze.splitlines())} packages (build/envs/{tab}/freeze.txt)")
    return Environment(tab, python, installed_digest(python, tab, config.root), created=True)


def install_environment(folder: Path, arguments: list[str], tab: str, where: str = "config.ini") -> str:
    """A new virtual environment in ``folder`` (replacing what is there) with pip's ``arguments`` and ipykernel; its python."""
    if folder.exists():
        shutil.rmtree(folder)
    python = str(venv_python(folder))
    _run([sys.executable, "-m", "venv", str(folder)], tab, where)
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *arguments, *KERNEL_PACKAGES], tab, where)
    return python


FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
CHECK_MODULES = "import importlib.util, json, sys; print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]))"


def eval_key_position(config: Config, tab: str, key: str) -> tuple[str, str]:
    """The section that sets ``key`` for ``tab`` (``eval-TAB`` wins over ``eval``) and its ``config.ini:LINE``."""
    for section in (f"eval-{tab}", "eval"):
        where = config_position(config.root, section, key)
        if where != "config.ini":
            return section, where
    return f"eval-{tab}", "config.ini"


def file_option(line: str) -> tuple[str, str] | None:
    """``(option, path)`` of a requirement line ``-r FILE`` / ``-c FILE`` (also ``--requirement=FILE``), else None."""
    for option in FILE_OPTIONS:
        if line == option or line.startswith((option + " ", option + "=", option + "\t")):
            return option, line[len(option):].lstrip(" =\t").strip()
    return None


def requirement_files(config: Config, tab: str) -> list[Path]:
    """The files the tab's requirement lines name (relative to the book), and those they name in turn."""
    found: list[Path] = []
    pending = [(config.root, line) for line in config.eval_settings(tab).requirements]
    while pending:
        folder, line = pending.pop(0)
        option = file_option(line.strip())
        if option is None:
            continue
        path = (folder / option[1]).resolve()
        if not option[1] or not path.is_file():
            _, where = eval_key_position(config, tab, "requirements")
            raise BuildError(where, f"[eval-{tab}] requirements: {line.strip()}: no such file (paths are relative to the book)")
        if path not in found:
            found.append(path)
            pending += [(path.parent, text) for text in path.read_text(encoding="utf-8").splitlines()]
    return found


def pip_arguments(config: Config, tab: str) -> list[str]:
    """The requirement lines as pip's arguments: ``-r FILE`` becomes two, its path made absolute from the book's root."""
    arguments = []
    for line in config.eval_settings(tab).requirements:
        option = file_option(line)
        arguments += [option[0], str(config.root / option[1])] if option else [line]
    return arguments


def checked_interpreter(config: Config, tab: str, log) -> str:
    """The interpreter ``python =`` names, once it runs and has ipykernel and the tab's framework; else one line naming
    the config line. Requirements beside it are ignored, with a warning."""
    settings = config.eval_settings(tab)
    section, where = eval_key_position(config, tab, "python")
    if settings.requirements:
        req_section, req_where = eval_key_position(config, tab, "requirements")
        log(f"{req_where}: warning: [{req_section}] requirements are ignored: [{section}] python = {settings.python} is used as it is")
    python = shutil.which(settings.python) or settings.python
    if not Path(python).exists():
        raise BuildError(where, f"[{section}] python: {settings.python} not found")
    modules = [*KERNEL_PACKAGES, *([DEFAULT_MODULES[tab]] if tab in DEFAULT_MODULES else [])]
    try:
        result = subprocess.run([python, "-c", CHECK_MODULES, *modules], capture_output=True, text=True, timeout=120)
        missing = json.loads(result.stdout) if result.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise BuildError(where, f"[{section}] python: {python} cannot be run as a Python interpreter: {reason}") from None
    if not isinstance(missing, list):
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BuildError(where, f"[{section}] python: {python} is not a working Python interpreter: {tail}")
    if missing:
        names = " and ".join(missing)
        raise BuildError(where, f"[{section}] python: {python} lacks {names} (the kernels need {'them' if len(missing) > 1 else 'it'})")
    return python


def existing_python(config: Config, tab: str) -> str | None:
    """The interpreter ``ensure_environment`` will return when it has nothing to create, or None."""
    settings = config.eval_settings(tab)
    if settings.python:
        python = shutil.which(settings.python) or settings.python
    elif not settings.requirements:
        python = sys.executable
    else:
        python = str(venv_python(env_folder(config.root, tab)))
    return python if Path(python).exists() else None


PROBE = "import json, sys; print(json.dumps([sys.version, sys.executable, sys.path]))"
METADATA_FILES = ("RECORD", "METADATA", "PKG-INFO")


def installed_digest(python: str, tab: str, root: Path) -> str:
    """What the interpreter imports from, as installed now: its version and every distribution on its path.

    One short interpreter start for ``sys.path``, then directory listings and each distribution's
    RECORD (file hashes) or METADATA: a package installed, upgraded or reinstalled after the
    environment was made changes the digest. The book's root (first on the kernels' path) is left out.
    """
    version, executable, path = interpreter_paths(python, tab)
    parts = [version, executable]
    for entry in dict.fromkeys(path):
        folder = Path(entry or ".")
        if entry and folder.is_dir() and folder.resolve() != root.resolve():
            parts.extend(_distributions(folder))
    return digest("\n".join(parts))


def interpreter_paths(python: str, tab: str) -> tuple[str, str, list[str]]:
    """The interpreter's version, executable and ``sys.path`` as a kernel started now would see them."""
    if os.path.abspath(python) == os.path.abspath(sys.executable):  # this interpreter: no process to start
        extra = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
        return sys.version, sys.executable, extra + sys.path
    try:
        result = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=120)
        found = json.loads(result.stdout) if result.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise BuildError("config.ini", f"[eval-{tab}] python: {python} cannot be run as a Python interpreter: {reason}") from None
    if not (isinstance(found, list) and len(found) == 3):
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BuildError("config.ini", f"[eval-{tab}] python: {python} is not a working Python interpreter: {tail}")
    return found[0], found[1], found[2]


def _distributions(folder: Path) -> list[str]:
    """One line per distribution or path hook in a site folder: its name and a digest of its metadata."""
    lines = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return lines
    for name in names:
        path = folder / name
        if name.endswith((".dist-info", ".egg-info")):
            meta = next((path / file for file in METADATA_FILES if (path / file).is_file()), path)
            lines.append(f"{folder}/{name} {file_digest(meta) if meta.is_file() else '-'}")
        elif name.endswith((".pth", ".egg-link")):
            lines.append(f"{folder}/{name} {file_digest(path)}")
    return lines


def write_kernelspec(config: Config, tab: str, folder: Path, python: str) -> None:
    """The ``d2l-TAB`` kernel the notebooks name, for a Jupyter run from this environment.

    It puts the repository first on PYTHONPATH, as eval does, so the notebooks import its library.
    """
    from .notebook import kernelspec

    spec = kernelspec(tab)
    data = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": spec["display_name"],
        "language": "python",
        "env": {"PYTHONPATH": str(config.root), **dict(config.eval_settings(tab).env)},
    }
    write_if_changed(folder / "share" / "jupyter" / "kernels" / spec["name"] / "kernel.json", json.dumps(data, indent=1) + "\n")


def _run(command: list[str], tab: str, where: str = "config.ini") -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BuildError(where, f"[eval-{tab}] requirements: {' '.join(command[:4])} ... failed:\n" + "\n".join(tail))


def _freeze(python: str) -> str:
    result = subprocess.run([python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True)
    return result.stdout


def visible_gpus() -> list[str]:
    """GPU indices as nvidia-smi lists them; none when it is missing or fails."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return []
    nvidia_smi = shutil.which("nvidia-smi")
    if not nvidia_smi:
        return []
    try:
        result = subprocess.run([nvidia_smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]
