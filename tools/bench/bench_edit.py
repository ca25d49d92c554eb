"""Benchmark ``edit`` and ``sync`` on this repository's book and on d2l-en; prints figures.

The commands run in fresh processes on a copy of the book (CPU seconds of the process, best of the repeats);
the whole-book round trip (every chapter exported in every tab and synced back) runs in this process.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import REPEATS, report, timed  # noqa: E402

from d2lbuild.book import notebook_files  # noqa: E402
from d2lbuild.config import load_config  # noqa: E402
from d2lbuild.edit import edit_path, export, read_chapter  # noqa: E402
from d2lbuild.notebook import dumps  # noqa: E402
from d2lbuild.sync import sync_chapter  # noqa: E402
from d2lbuild.transforms import in_tab  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
D2L_EN = REPO.parent / "shared" / "compat" / "books" / "d2l-en"
CHAPTER = "chapters/attention/transformer.md"


def best(root: Path, *args: str, before=None) -> tuple[float, float, float, float]:
    runs = []
    for _ in range(REPEATS):
        if before:
            before()
        runs.append(timed(root, *args))
    return min(runs)


def commands(folder: Path) -> list:
    root = folder / "ours"
    shutil.copytree(REPO / "chapters", root / "chapters")
    shutil.copy(REPO / "config.ini", root / "config.ini")
    notebook = root / edit_path("tensorflow", CHAPTER)

    def edited() -> None:
        """One code cell of the exported notebook gets one more line."""
        timed(root, "edit", CHAPTER, "--tab", "tensorflow", "--force")
        data = json.loads(notebook.read_text())
        code = next(cell for cell in data["cells"] if cell["cell_type"] == "code")
        code["source"] = "".join(code["source"]) + "\nprint('edited')"
        notebook.write_text(json.dumps(data))

    return [
        (f"edit {CHAPTER} (tensorflow)", best(root, "edit", CHAPTER, "--tab", "tensorflow", "--force")),
        ("sync, no edits", best(root, "sync")),
        ("sync, one cell edited", best(root, "sync", before=edited)),
    ]


def round_trip(root: Path) -> tuple[int, float, float]:
    """Every chapter exported in every tab, through JSON, and synced back: notebooks, CPU and wall seconds."""
    config = load_config(root)
    start_cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    count = 0
    for relpath in notebook_files(config):
        if relpath.endswith(".md"):
            chapter = read_chapter(config, relpath)
            for tab in [tab for tab in config.tabs if in_tab(chapter.document, tab, config.default_tab)]:
                notebook = json.loads(dumps(export(config, chapter, tab)))
                _, original, text = sync_chapter(config, relpath, {tab: notebook})
                assert text == original, relpath
                count += 1
    end_cpu = resource.getrusage(resource.RUSAGE_SELF)
    cpu = end_cpu.ru_utime - start_cpu.ru_utime + end_cpu.ru_stime - start_cpu.ru_stime
    return count, cpu, time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        report(commands(Path(folder)))
    for name, root in [("this book", REPO), ("d2l-en", D2L_EN)]:
        if root.is_dir():
            count, cpu, wall = round_trip(root)
            print(f"round trip of {name}: {count} notebooks exported and synced back unchanged, {cpu:.2f} s CPU, {wall:.2f} s wall")


if __name__ == "__main__":
    main()
