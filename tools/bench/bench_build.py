"""Benchmark extract and notebooks on a synthetic 300-section, 3-tab book and on d2l-en; prints figures.

Each step runs the real command in a fresh process, as `make notebooks` does, and reports the
CPU time (user + system) of that process and its wall time.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_synthetic_book  # noqa: E402

SECTIONS = 300
D2L_EN = Path(__file__).resolve().parents[3] / "shared" / "compat" / "books" / "d2l-en"
REPEATS = int(os.environ.get("D2L_BENCH_REPEATS", "3"))
STATE = "build/.d2lbuild"


# A run as users see it: Python may keep compiled bytecode (some environments turn that off, which would
# add the compilation of d2lbuild itself, about 0.1 s, to every figure).
CHILD_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


Timing = tuple[float, float, float, float]  # CPU (user + system), wall, user, system seconds


def timed(root: Path, *args: str) -> Timing:
    """CPU, wall, user and system seconds of ``d2lbuild ARGS`` run in ``root``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, "-m", "d2lbuild", *args]
    subprocess.run(command, cwd=root, env=CHILD_ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return user + system, wall, user, system


def report(rows: list[tuple[str, Timing]]) -> None:
    """The figures; system time is mostly the kernel creating files (about 1 ms per new file on some machines)."""
    print(f"{'step':52} {'cpu s':>7} {'user s':>7} {'sys s':>7} {'wall s':>7}")
    for name, (cpu, wall, user, system) in rows:
        print(f"{name:52} {cpu:7.3f} {user:7.3f} {system:7.3f} {wall:7.3f}")


def synthetic_book(folder: Path) -> None:
    root = write_synthetic_book(folder / "book", SECTIONS)
    files = list(root.rglob("*.md"))
    size = sum(f.stat().st_size for f in files)
    print(f"synthetic book: {SECTIONS} sections, 3 tabs, {len(files)} files, {size / 1e6:.1f} MB")
    timed(root, "--version")  # Python's bytecode for d2lbuild, as after installing it
    rows = [
        ("extract, cold", timed(root, "extract")),
        ("notebooks, cold", timed(root, "notebooks")),
        ("extract, nothing changed", timed(root, "extract")),
        ("notebooks, nothing changed", timed(root, "notebooks")),
        ("make notebooks (build), nothing changed", timed(root, "build")),
    ]
    section = root / "chapter_000/section_000.md"
    section.write_text(section.read_text() + "\nMore.\n")
    rows.append(("make notebooks after editing one section", timed(root, "build")))
    report(rows)
    notebooks = len(list((root / "build/notebooks").rglob("*.ipynb")))
    print(f"notebooks written: {notebooks}")


def best(root: Path, *args: str, clean: tuple[str, ...] = (), before=None) -> Timing:
    """The fastest of a few runs (the machine may be busy), with ``clean`` paths removed (and ``before`` called) first."""
    runs = []
    for _ in range(REPEATS):
        for path in clean:
            target = root / path
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
        if before is not None:
            before()
        runs.append(timed(root, *args))
    return min(runs)


# "Cold, content caches kept": a new process that writes every output again, with what earlier runs keep in
# build/ by content (isort's layouts, parsed and rewritten code, each chapter's saved blocks), as after
# switching branches. The outputs and the records that would call them up to date are removed.
LIBRARIES = tuple(f"d2l/{name}.py" for name in ("torch", "mxnet", "jax", "tensorflow"))
LIBRARIES_WRITTEN = (f"{STATE}/extract-pytorch-mxnet-jax-tensorflow.json", *LIBRARIES)
BLOCKS = f"{STATE}/saved-blocks.json"  # without it, every chapter that saves code is read and its blocks found
NOTEBOOKS_WRITTEN = ("build/notebooks", f"{STATE}/notebooks-pytorch-mxnet-jax-tensorflow.json")


def real_book(folder: Path) -> None:
    """d2l-en, 4 tabs: a real d2lbook book (d2lbook 1.0.3 takes about 5 s of CPU for its libraries)."""
    if not D2L_EN.is_dir():
        print("d2l-en: ../shared/compat/books is not beside the repository; skipped")
        return
    root = folder / "d2l-en"
    shutil.copytree(D2L_EN, root)
    print(f"\nd2l-en: {len(list(root.rglob('*.md')))} Markdown files, 4 tabs (best of {REPEATS} runs)")
    timed(root, "--version")
    rows = [
        ("extract, cold, no build/", best(root, "extract", clean=("build",))),
        ("extract, cold, content caches kept", best(root, "extract", clean=LIBRARIES_WRITTEN)),
        ("extract, cold, formatted code kept, chapters read", best(root, "extract", clean=(*LIBRARIES_WRITTEN, BLOCKS))),
        ("notebooks, cold, no build/", best(root, "notebooks", clean=("build",))),
        ("notebooks, cold, content caches kept", best(root, "notebooks", clean=NOTEBOOKS_WRITTEN)),
        ("make notebooks (build), cold (no build/)", best(root, "build", clean=("build",))),
    ]
    timed(root, "build")
    rows.append(("make notebooks (build), nothing changed", best(root, "build")))
    pair = [best(root, "extract"), best(root, "notebooks")]
    rows.append(("extract + notebooks, two commands, nothing changed", tuple(a + b for a, b in zip(*pair, strict=True))))
    section = root / "chapter_linear-regression/linear-regression.md"
    original = section.read_text(encoding="utf-8")
    edits = iter(range(REPEATS))

    def edit() -> None:
        section.write_text(original + f"\nEdited {next(edits)}.\n", encoding="utf-8")

    rows.append(("make notebooks (build), one section edited", best(root, "build", before=edit)))
    report(rows)
    print("targets: extract cold < 0.6 s cpu, notebooks cold < 2 s cpu, make notebooks unchanged < 0.3 s cpu")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        synthetic_book(Path(folder))
        real_book(Path(folder))


if __name__ == "__main__":
    main()
