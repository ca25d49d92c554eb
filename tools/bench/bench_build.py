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
REPEATS = 3
STATE = "build/.d2lbuild"


def timed(root: Path, *args: str) -> tuple[float, float]:
    """CPU and wall seconds of ``d2lbuild ARGS`` run in ``root``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "d2lbuild", *args], cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def report(rows: list[tuple[str, tuple[float, float]]]) -> None:
    print(f"{'step':44} {'cpu s':>8} {'wall s':>8}")
    for name, (cpu, wall) in rows:
        print(f"{name:44} {cpu:8.3f} {wall:8.3f}")


def synthetic_book(folder: Path) -> None:
    root = write_synthetic_book(folder / "book", SECTIONS)
    files = list(root.rglob("*.md"))
    size = sum(f.stat().st_size for f in files)
    print(f"synthetic book: {SECTIONS} sections, 3 tabs, {len(files)} files, {size / 1e6:.1f} MB")
    rows = [
        ("extract, cold", timed(root, "extract")),
        ("notebooks, cold", timed(root, "notebooks")),
        ("extract, nothing changed", timed(root, "extract")),
        ("notebooks, nothing changed", timed(root, "notebooks")),
    ]
    no_change = tuple(a + b for a, b in zip(rows[2][1], rows[3][1], strict=True))
    rows.append(("make notebooks, nothing changed", no_change))
    os.utime(root / "chapter_000/section_000.md")
    (root / "chapter_000/section_000.md").write_text((root / "chapter_000/section_000.md").read_text() + "\nMore.\n")
    rows.append(("extract after editing one section", timed(root, "extract")))
    rows.append(("notebooks after editing one section", timed(root, "notebooks")))
    report(rows)
    notebooks = len(list((root / "build/notebooks").rglob("*.ipynb")))
    print(f"notebooks written: {notebooks}; targets: extract cold < 0.6 s cpu, make notebooks unchanged < 0.3 s cpu")


def best(root: Path, *args: str, clean: tuple[str, ...] = ()) -> tuple[float, float]:
    """The fastest of a few runs (the machine may be busy), with ``clean`` paths removed before each."""
    runs = []
    for _ in range(REPEATS):
        for path in clean:
            target = root / path
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
        runs.append(timed(root, *args))
    return min(runs)


def real_book(folder: Path) -> None:
    """d2l-en, 4 tabs: a real d2lbook book (d2lbook 1.0.3 takes about 5 s of CPU for its libraries)."""
    if not D2L_EN.is_dir():
        print("d2l-en: ../shared/compat/books is not beside the repository; skipped")
        return
    root = folder / "d2l-en"
    shutil.copytree(D2L_EN, root)
    print(f"\nd2l-en: {len(list(root.rglob('*.md')))} Markdown files, 4 tabs (best of {REPEATS} runs)")
    rows = [
        ("extract, cold (no build/)", best(root, "extract", clean=("build",))),
        ("extract, formatted code kept in build/", best(root, "extract", clean=(f"{STATE}/extract-pytorch-mxnet-jax-tensorflow.json",))),
        ("notebooks, cold (no build/)", best(root, "notebooks", clean=("build",))),
    ]
    timed(root, "extract")
    timed(root, "notebooks")
    pair = [best(root, "extract"), best(root, "notebooks")]
    rows.append(("make notebooks, nothing changed", tuple(a + b for a, b in zip(*pair, strict=True))))
    report(rows)
    print("targets: extract cold < 0.6 s cpu, notebooks cold < 2 s cpu, make notebooks unchanged < 0.3 s cpu")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        synthetic_book(Path(folder))
        real_book(Path(folder))


if __name__ == "__main__":
    main()
