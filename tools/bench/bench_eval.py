"""Benchmark d2lbuild eval against nbconvert and plain python, warm vs cold kernels, 1 vs 2 workers, a cached eval,
and the book's own tabs warm vs cold.

Prints figures; asserts nothing. The small notebooks are plain Python (no framework), each doing a
fixed amount of single-threaded work, so that the differences are the runners' overheads. CPU figures
count every process of a run (kernels included); on a shared machine they are steadier than wall times.
The book's tabs run when their environments exist (make env-all); D2L_BENCH_TABS chooses them (comma-separated,
empty for none), D2L_BENCH_REPEATS repeats each run.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTEBOOKS = 20
# about a second of work per notebook, like the book's own; pass another count as the first argument
LOOPS = 15_000_000
CACHED_NOTEBOOKS = 300
REPEATS = int(os.environ.get("D2L_BENCH_REPEATS", "1"))
REPO = Path(__file__).resolve().parents[2]
BOOK_TABS = tuple(tab for tab in os.environ.get("D2L_BENCH_TABS", "tensorflow,pytorch,mxnet").split(",") if tab.strip())
CONFIG = "[build]\nindex = index\nnotebooks = **/*.md\ntabs = python\n[eval]\ntimeout = 120\n"
WORK = "total = 0\nfor i in range({n}):\n    total += i * i % 7\nprint(total)\n"


def write_book(root: Path, count: int, loops: int) -> Path:
    (root / "ch").mkdir(parents=True)
    (root / "config.ini").write_text(CONFIG)
    entries = []
    for number in range(count):
        name = f"nb{number:03d}"
        entries.append(f"ch/{name}")
        code = "import math\nvalues = [math.sqrt(i) for i in range(1000)]\n"
        text = f"# Notebook {number}\n\n```{{.python .input}}\n{code}```\n\nProse.\n\n```{{.python .input}}\n{WORK.format(n=loops)}```\n"
        (root / "ch" / f"{name}.md").write_text(text)
    (root / "index.md").write_text("# Bench\n\n```toc\n" + "\n".join(entries) + "\n```\n")
    return root


def timed(command: list[str], cwd: Path, check: bool = True) -> tuple[float, float]:
    """Wall and CPU (this process's children) seconds of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(command: list[str], cwd: Path, check: bool = True) -> tuple[float, float]:
    """The fastest of REPEATS runs (wall and CPU)."""
    runs = [timed(command, cwd, check) for _ in range(REPEATS)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def d2lbuild(*args: str) -> list[str]:
    return [sys.executable, "-m", "d2lbuild", *args]


def notebook_paths(root: Path) -> list[Path]:
    """Every notebook an eval runs: the chapters' and the index page's."""
    return sorted((root / "build/notebooks/python").rglob("*.ipynb"))


def plain_python(root: Path) -> tuple[float, float]:
    """The floor: each notebook's code run as a script by plain python (the eval's interpreter), one after another.

    The same work as an eval without kernels: one new process per notebook, the index page's (no code) included.
    """
    scripts = []
    for path in notebook_paths(root):
        cells = json.loads(path.read_text())["cells"]
        script = path.with_suffix(".py")
        script.write_text("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code") + "\n")
        scripts.append(script)
    runs = []
    for _ in range(REPEATS):
        wall = cpu = 0.0
        for script in scripts:
            w, c = timed([sys.executable, str(script)], script.parent)
            wall, cpu = wall + w, cpu + c
        runs.append((wall, cpu))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        loops = int(sys.argv[1]) if len(sys.argv) > 1 else LOOPS
        root = write_book(Path(folder) / "small", NOTEBOOKS, loops)
        subprocess.run(d2lbuild("notebooks"), cwd=root, check=True, stdout=subprocess.DEVNULL)
        load = f"{os.getloadavg()[0]:.1f}"
        floor = plain_python(root)
        count = len(notebook_paths(root))
        out = Path(folder) / "nbconvert"
        nbconvert = shutil.which("jupyter") or str(Path(sys.executable).parent / "jupyter")
        paths = [str(p) for p in notebook_paths(root)]
        kernel = "--ExecutePreprocessor.kernel_name=python3"  # built notebooks name the d2l-TAB kernelspec
        convert = timed([nbconvert, "nbconvert", "--to", "notebook", "--execute", kernel, "--output-dir", str(out), *paths], root)
        cold_one = best(d2lbuild("eval", "-j", "1", "--force", "--cold"), root)
        one = best(d2lbuild("eval", "-j", "1", "--force"), root)
        cold_two = best(d2lbuild("eval", "-j", "2", "--force", "--cold"), root)
        two = best(d2lbuild("eval", "-j", "2", "--force"), root)
        print(f"{count} notebooks ({NOTEBOOKS} chapters and the index page), ~{floor[0] / NOTEBOOKS:.2f} s of plain python per "
              f"chapter; every run: best of {REPEATS}; load average {load} before the runs, {os.getloadavg()[0]:.1f} after")
        print(f"{'runner':34} {'wall s':>8} {'cpu s':>8} {'overhead/notebook s':>20} {'cpu overhead/notebook s':>24}")
        for name, (wall, cpu) in [
            ("plain python (floor)", floor),
            ("jupyter nbconvert --execute", convert),
            ("d2lbuild eval -j 1 --cold", cold_one),
            ("d2lbuild eval -j 1 (warm)", one),
            ("d2lbuild eval -j 2 --cold", cold_two),
            ("d2lbuild eval -j 2 (warm)", two),
        ]:
            print(f"{name:34} {wall:8.2f} {cpu:8.2f} {(wall - floor[0]) / count:20.3f} {(cpu - floor[1]) / count:24.3f}")
        print(f"warm overhead per notebook above the floor: {(one[0] - floor[0]) / count:.3f} s wall, {(one[1] - floor[1]) / count:.3f} s "
              f"cpu (target <= 0.1; cold {(cold_one[0] - floor[0]) / count:.3f} s wall, {(cold_one[1] - floor[1]) / count:.3f} s cpu)")
        ratio = (one[0] - floor[0]) / max(convert[0] - floor[0], 1e-9)
        print(f"eval overhead / nbconvert overhead: {ratio:.2f} (target <= 0.5)")
        print(f"speed-up from 1 to 2 workers: {one[0] / two[0]:.2f}x warm, {cold_one[0] / cold_two[0]:.2f}x cold")

        big = write_book(Path(folder) / "big", CACHED_NOTEBOOKS, 10)
        first = timed(d2lbuild("eval", "-j", "2"), big)
        cached = timed(d2lbuild("eval", "-j", "2"), big)
        print(f"{CACHED_NOTEBOOKS} tiny notebooks: first eval {first[0]:.1f} s wall; fully cached eval {cached[0]:.3f} s wall, "
              f"{cached[1]:.3f} s cpu (target < 1 s)")
        book_tabs(Path(folder) / "book")


def book_tabs(copy: Path) -> None:
    """The book's own tabs, ``eval --force -j 2``, warm against cold, on a copy of the book (same environments)."""
    for name in ("chapters", "data", "d2l", "config.ini"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        elif source.is_file():
            shutil.copy2(source, copy / name)
    (copy / "build").mkdir(parents=True)
    (copy / "build/envs").symlink_to(REPO / "build/envs")
    print(f"the book's tabs, d2lbuild eval --force -j 2, best of {REPEATS}")
    print(f"{'tab':12} {'cold wall s':>12} {'warm wall s':>12} {'warm/cold':>10} {'cold cpu s':>11} {'warm cpu s':>11} {'warm/cold':>10} "
          f"{'load':>6}")
    for tab in BOOK_TABS:
        if not (REPO / "build/envs" / tab / "bin/python").exists():
            print(f"{tab:12} skipped: no environment (make env TAB={tab})")
            continue
        cold = best(d2lbuild("eval", "--tab", tab, "--force", "-j", "2", "--cold"), copy, check=False)
        warm = best(d2lbuild("eval", "--tab", tab, "--force", "-j", "2"), copy, check=False)
        ratios = warm[0] / cold[0], warm[1] / cold[1]
        print(f"{tab:12} {cold[0]:12.1f} {warm[0]:12.1f} {ratios[0]:10.2f} {cold[1]:11.1f} {warm[1]:11.1f} {ratios[1]:10.2f} "
              f"{os.getloadavg()[0]:6.1f}")
    print("target: the TensorFlow tab warm at most 0.6 of its cold time")


if __name__ == "__main__":
    main()
