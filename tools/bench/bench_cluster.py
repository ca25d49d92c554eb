"""Benchmark ``d2lbuild eval --cluster``: a scheduling simulation (no Ray), then a real two-node cluster on this machine.

Prints figures; asserts nothing.

1. The simulation takes per-notebook durations and GPU needs and prints the makespan of list scheduling (longest
   first, as eval orders its jobs; a GPU notebook takes one GPU, a CPU notebook one CPU, as ``--cluster`` asks Ray)
   on 1, 4 and 16 nodes of 1, 4 and 8 GPUs (16 CPUs each), against one machine of the same kind per framework, as
   d2l-en's CI runs today. Two sets: this book's ``build/eval/TAB/report.json`` (when an eval wrote them), and a
   d2l-en-sized set of 700 notebooks, 4 frameworks, durations drawn from a log-normal distribution with a median of
   60 s and a mean of 120 s (sigma 1.18), 45% needing a GPU, seed 21.
2. With Ray installed and ``unshare -n`` permitted, this script runs itself in a private network namespace, starts
   a head node and a second node (one CPU each; the head's object store 80 MB, no dashboard) and times 20 small
   notebooks (about 0.2 s of plain Python each on a quiet machine) locally and on the cluster: the wall time, the
   overhead per notebook of the cluster path above a local warm kernel (one node against ``-j 1``: the time between
   one notebook's last line and the next one's first, which the notebooks print; their own work, slower or faster
   with the machine's load, drops out), and the time from ``eval --cluster`` to the first notebook started. The
   cluster is stopped at the end, whatever happens.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = 20
LOOPS = 3_000_000  # about 0.2 s of plain Python on a quiet machine: the overheads show; another count as the first argument
NODE_COUNTS = (1, 4, 16)
GPUS_PER_NODE = (1, 4, 8)
CPUS_PER_NODE = 16
PORT = 6391
MARKER = "D2LBUILD_BENCH_CLUSTER"
REPORTS = Path(os.environ.get("D2L_BENCH_REPORTS", REPO / "build/eval"))  # the folder of this book's TAB/report.json


# ---------------------------------------------------------------------------------------------------------------
# the scheduling simulation


@dataclass(frozen=True)
class Notebook:
    framework: str
    seconds: float
    gpu: bool


def makespan(notebooks: list[Notebook], nodes: int, gpus: int, cpus: int = CPUS_PER_NODE) -> float:
    """Seconds until the last notebook ends: longest first, each started as soon as a node has its CPU or GPU free."""
    free = [[cpus, gpus] for _ in range(nodes)]
    pending = sorted(notebooks, key=lambda n: -n.seconds)
    running: list[tuple[float, int, int]] = []  # (end, node, resource index)
    now = 0.0
    while pending or running:
        waiting = []
        for notebook in pending:
            kind = 1 if notebook.gpu and gpus else 0
            node = max(range(nodes), key=lambda n: free[n][kind])  # the node with most of it free (Ray spreads)
            if free[node][kind] > 0:
                free[node][kind] -= 1
                heapq.heappush(running, (now + notebook.seconds, node, kind))
            else:
                waiting.append(notebook)
        pending = waiting
        now, node, kind = heapq.heappop(running)
        free[node][kind] += 1
        while running and running[0][0] == now:
            _, node, kind = heapq.heappop(running)
            free[node][kind] += 1
    return now


def per_framework(notebooks: list[Notebook], gpus: int) -> float:
    """d2l-en's CI today: one machine per framework, all parallelism inside it; done when the slowest is."""
    frameworks = sorted({n.framework for n in notebooks})
    return max(makespan([n for n in notebooks if n.framework == f], 1, gpus) for f in frameworks)


def d2l_en_sized(seed: int = 21) -> list[Notebook]:
    generator = random.Random(seed)
    sigma = 1.18  # mean = median * exp(sigma^2 / 2) = 60 s * 2.0
    return [
        Notebook(framework, generator.lognormvariate(math.log(60), sigma), generator.random() < 0.45)
        for framework in ("pytorch", "tensorflow", "mxnet", "jax") for _ in range(175)
    ]


def this_book() -> list[Notebook]:
    notebooks = []
    for path in sorted(REPORTS.glob("*/report.json")):
        report = json.loads(path.read_text())
        notebooks += [Notebook(report["tab"], float(n["seconds"]), bool(n["needs_gpu"])) for n in report["notebooks"]]
    return notebooks


def print_simulation(title: str, notebooks: list[Notebook]) -> None:
    total = sum(n.seconds for n in notebooks)
    share = sum(n.gpu for n in notebooks) / max(len(notebooks), 1)
    print(f"\n{title}: {len(notebooks)} notebooks, {total / 3600:.1f} h in all, {share:.0%} need a GPU; makespan in minutes")
    header = f"{'GPUs/node':>9} {'1 machine/framework':>20}" + "".join(f"{f'{count} nodes':>10}" for count in NODE_COUNTS)
    print(header)
    for gpus in GPUS_PER_NODE:
        row = f"{gpus:9d} {per_framework(notebooks, gpus) / 60:20.1f}"
        row += "".join(f"{makespan(notebooks, count, gpus) / 60:10.1f}" for count in NODE_COUNTS)
        print(row)
    print(f"(the longest notebook alone: {max(n.seconds for n in notebooks) / 60:.1f} min; {CPUS_PER_NODE} CPUs per node)")


def simulation() -> None:
    print("scheduling simulation (no Ray): list scheduling, longest first")
    ours = this_book()
    if ours:
        print_simulation(f"this book ({', '.join(sorted({n.framework for n in ours}))}: {REPORTS}/TAB/report.json)", ours)
    else:
        print(f"this book: no {REPORTS}/TAB/report.json (make eval-all writes them); skipped")
    print_simulation("d2l-en-sized (log-normal, median 60 s, mean 120 s, 45% GPU, seed 21)", d2l_en_sized())


# ---------------------------------------------------------------------------------------------------------------
# the real cluster


def write_book(root: Path, count: int, loops: int) -> Path:
    """``count`` notebooks of plain Python, each printing when it started and ended (wall clock)."""
    (root / "ch").mkdir(parents=True)
    (root / "config.ini").write_text("[build]\nindex = index\nnotebooks = **/*.md\ntabs = python\n[eval]\ntimeout = 120\n")
    entries = []
    for number in range(count):
        entries.append(f"ch/nb{number:03d}")
        code = (f"import time\nstarted = time.time()\ntotal = 0\nfor i in range({loops}):\n    total += i * i % 7\n"
                "print('times', started, time.time())\n")
        (root / "ch" / f"nb{number:03d}.md").write_text(f"# Notebook {number}\n\n```{{.python .input}}\n{code}```\n")
    (root / "index.md").write_text("# Bench\n\n```toc\n" + "\n".join(entries) + "\n```\n")
    return root


def d2lbuild(*args: str) -> list[str]:
    return [sys.executable, "-m", "d2lbuild", *args]


def timed_eval(root: Path, *args: str) -> dict:
    """Run ``eval --force`` and read the notebooks' own start and end times."""
    for old in (root / "build/eval").glob("*"):
        shutil.rmtree(old, ignore_errors=True)
    began = time.time()
    result = subprocess.run(d2lbuild("eval", "--force", *args), cwd=root, capture_output=True, text=True)
    wall = time.time() - began
    if result.returncode != 0:
        raise RuntimeError(result.stdout[-2000:] + result.stderr[-2000:])
    times = []
    for path in (root / "build/eval/python/ch").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                words = "".join(output.get("text", "")).split()
                if words[:1] == ["times"]:
                    times.append((float(words[1]), float(words[2])))
    first, last = min(t[0] for t in times), max(t[1] for t in times)
    busy = sum(end - start for start, end in times)
    return {"wall": wall, "first": first - began, "span": last - first, "count": len(times), "busy": busy}


def cluster_env(marker: str, node: str, home: Path) -> dict[str, str]:
    return {**os.environ, MARKER: f"{marker}:{node}", "D2LBUILD_NODE_DIR": str(home / node), "D2LBUILD_NODE_NAME": node,
            "RAY_USAGE_STATS_ENABLED": "0"}


def our_processes(marker: str) -> list:
    import psutil

    found = {}
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARKER, "").startswith(marker):
                found[process.pid] = process
                found.update((child.pid, child) for child in process.children(recursive=True))
        except (psutil.Error, OSError):
            continue
    return list(found.values())


class MemorySampler:
    """The most resident memory a node's processes used together, sampled twice a second in a thread."""

    def __init__(self, marker: str):
        import threading

        self.marker, self.most, self.done = marker, 0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.done.wait(0.5):
            total = 0
            for process in our_processes(self.marker):
                try:
                    total += process.memory_info().rss
                except Exception:  # noqa: BLE001 - ended meanwhile
                    pass
            self.most = max(self.most, total)

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return self.most


def ray_start(args: list[str], env: dict[str, str]) -> None:
    ray = str(Path(sys.executable).parent / "ray")
    common = ["--num-cpus", "1", "--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]
    subprocess.run([ray, "start", *args, *common], env=env, check=True, capture_output=True, timeout=180)


def in_namespace() -> None:
    """The cluster part, inside the private network namespace."""
    marker = f"bench-{os.getpid()}"
    address = f"127.0.0.1:{PORT}"
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        temp = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
        root = write_book(home / "book", NOTEBOOKS, int(sys.argv[2]) if len(sys.argv) > 2 else LOOPS)
        subprocess.run(d2lbuild("notebooks"), cwd=root, check=True, capture_output=True)
        try:
            local_one = timed_eval(root, "-j", "1")
            local_two = timed_eval(root, "-j", "2")
            head = ["--head", "--port", str(PORT), "--include-dashboard=false", "--temp-dir", str(temp)]
            ray_start(head, cluster_env(marker, "head", home))
            one_node = timed_eval(root, "--cluster", address)
            ray_start(["--address", address], cluster_env(marker, "second", home))
            time.sleep(2)
            sampler = MemorySampler(f"{marker}:head")
            two_nodes = timed_eval(root, "--cluster", address)
            again = timed_eval(root, "--cluster", address)
            head_memory = sampler.stop()
        finally:
            for process in our_processes(marker):
                try:
                    process.kill()
                except Exception:  # noqa: BLE001 - gone already
                    pass
            shutil.rmtree(temp, ignore_errors=True)
    count = local_one["count"]
    print(f"\n{count} notebooks of about {local_one['span'] / count:.2f} s of plain Python each; load average {os.getloadavg()[0]:.1f}")
    print(f"{'run':40} {'wall s':>8} {'first start s':>14} {'first start to last end s':>26}")
    for name, run in [("local -j 1 (warm)", local_one), ("local -j 2 (warm)", local_two), ("cluster, head only (1 CPU)", one_node),
                      ("cluster, head + second (1 CPU each)", two_nodes), ("cluster, two nodes, again", again)]:
        print(f"{name:40} {run['wall']:8.2f} {run['first']:14.2f} {run['span']:26.2f}")
    # one notebook at a time: the time between one notebook's last line and the next one's first is the runner's
    local_gap, cluster_gap = ((run["span"] - run["busy"]) / (count - 1) for run in (local_one, one_node))
    print(f"between two notebooks, one at a time: local warm kernels {local_gap:.3f} s, cluster (one node) {cluster_gap:.3f} s")
    print(f"cluster path overhead per notebook above a local warm kernel: {cluster_gap - local_gap:.3f} s (goal < 0.3 s)")
    print(f"time from eval --cluster to the first notebook started: {one_node['first']:.2f} s (one node), "
          f"{two_nodes['first']:.2f} s (two nodes), {again['first']:.2f} s (two nodes, environments and files already there)")
    print(f"two-node cluster against local -j 2: {two_nodes['wall'] / local_two['wall']:.2f} of the wall time")
    print(f"memory of the head node's processes (Ray's, the agent, template and kernels), most seen: {head_memory / 2**20:.0f} MB RSS")


def cluster() -> None:
    try:
        import psutil  # noqa: F401
        import ray  # noqa: F401
    except ImportError:
        print("\ncluster: skipped, Ray is not installed (make tools-ray)")
        return
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("ip") is None or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode:
        print("\ncluster: skipped, unshare -n is not permitted here (Ray must run in a private network namespace)")
        return
    loops = sys.argv[1] if len(sys.argv) > 1 else str(LOOPS)
    script = f'ip link set lo up && exec "{sys.executable}" "{Path(__file__).resolve()}" --in-namespace {loops}'
    subprocess.run([unshare, "-n", "sh", "-c", script], check=False)


def main() -> None:
    if sys.argv[1:2] == ["--in-namespace"]:
        in_namespace()
        return
    simulation()
    cluster()


if __name__ == "__main__":
    main()
