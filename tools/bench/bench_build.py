"""Benchmark extract and notebooks on a synthetic 300-section, 3-tab book; prints figures.

Each step runs the real command in a fresh process, as `make notebooks` does, and reports the
CPU time (user + system) of that process and its wall time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_synthetic_book  # noqa: E402

SECTIONS = 300


def timed(root: Path, *args: str) -> tuple[float, float]:
    """CPU and wall seconds of ``d2lbuild ARGS`` run in ``root``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "d2lbuild", *args], cwd=root, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = write_synthetic_book(Path(folder) / "book", SECTIONS)
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
        print(f"{'step':40} {'cpu s':>8} {'wall s':>8}")
        for name, (cpu, wall) in rows:
            print(f"{name:40} {cpu:8.3f} {wall:8.3f}")
        notebooks = len(list((root / "build/notebooks").rglob("*.ipynb")))
        print(f"notebooks written: {notebooks}; targets: extract cold < 0.6 s cpu, make notebooks unchanged < 0.3 s cpu")


if __name__ == "__main__":
    main()
