"""``d2lbuild eval --cluster`` on a real two-node Ray cluster on 127.0.0.1.

Ray binds every interface, so the cluster runs only inside a private network namespace: in a normal run one test
runs this module again under ``unshare -n`` (skipped where Ray or unshare is unavailable); inside it, a head node
and a second node (one CPU each, logical GPUs) are started and always stopped at the end. Every process of the
cluster carries a marker in its environment, so that the tests kill exactly theirs (a node, or all at the end).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import write_book

from d2lbuild.evaluate import EvalOptions, evaluate
from d2lbuild.report import PlainProgress

HERE = Path(__file__).resolve()
IN_NAMESPACE = os.environ.get("D2LBUILD_CLUSTER_TESTS") == "1"
RAY_MISSING = shutil.which("ray", path=str(Path(sys.executable).parent)) is None
PORT = 6390
ADDRESS = f"127.0.0.1:{PORT}"
MARKER = "D2LBUILD_TEST_CLUSTER"
HEAD_GPUS, SECOND_GPUS = 1, 2



def inside(test):
    """A test of the real cluster: marked ``cluster``, and run only inside the private network namespace."""
    reason = "runs inside a private network namespace (see test_cluster_in_a_private_network_namespace)"
    return pytest.mark.cluster(pytest.mark.skipif(not IN_NAMESPACE, reason=reason)(test))


def only_loopback() -> bool:
    """Whether this process's network namespace has the loopback interface only."""
    import socket

    return [name for _, name in socket.if_nameindex()] == ["lo"]


@pytest.mark.cluster
@pytest.mark.skipif(IN_NAMESPACE, reason="already inside the namespace")
@pytest.mark.skipif(RAY_MISSING, reason="Ray is not installed (pip install 'd2lbuild[ray]')")
def test_cluster_in_a_private_network_namespace():
    """Run this module's cluster tests under ``unshare -n``, where Ray can only use 127.0.0.1."""
    unshare = shutil.which("unshare")
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is missing: the namespace's loopback cannot be brought up")
    if unshare is None or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here (needs root or user namespaces): the cluster tests cannot run")
    script = f'ip link set lo up && exec "{sys.executable}" -m pytest "{HERE}" -q -x -p no:cacheprovider -m cluster -k "not private_network_namespace"'
    env = {**os.environ, "D2LBUILD_CLUSTER_TESTS": "1"}
    result = subprocess.run([unshare, "-n", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=900, cwd=HERE.parent)
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    assert " passed" in result.stdout and " skipped" not in result.stdout, result.stdout[-3000:]


def test_without_a_cluster_ray_is_never_imported(tmp_path):
    root = make_book(tmp_path / "book", {"ch/uses.md": FILES["ch/uses.md"], "ch/lib.md": LIBRARY})
    program = (
        "import sys\nfrom pathlib import Path\nfrom d2lbuild.evaluate import EvalOptions, evaluate\n"
        f"outcome = evaluate(Path({str(root)!r}), EvalOptions(workers=1), lambda total: __import__('d2lbuild.report').report.PlainProgress(total, print))\n"
        "print(sorted({r.status.value for r in outcome.results}), 'ray' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "['ok'] False", result.stdout + result.stderr


def test_cluster_without_ray_is_one_line(tmp_path, monkeypatch):
    from conftest import run

    root = make_book(tmp_path / "book", {"ch/lib.md": LIBRARY})
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    result = run(root, "eval", "--cluster", "auto")
    assert result.exit_code == 1
    assert result.stderr.strip() == "--cluster: Ray is not installed: pip install 'd2lbuild[ray]'"
    (root / "config.ini").write_text((root / "config.ini").read_text() + "cluster = ray://127.0.0.1:10001\n")
    result = run(root, "eval")
    assert result.exit_code == 1 and "Ray is not installed" in result.stderr  # [eval] cluster = does the same


class FlakyRay:
    """A stand-in for Ray whose client server fails to start a session ``failures`` times, as Ray reports it."""

    def __init__(self, failures: int):
        self.failures, self.calls, self.shutdowns = failures, 0, 0

    def init(self, **_):
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last):\n"
                                         "  File \"proxier.py\", line 1\nRuntimeError: Proxy failed to Connect to backend!\n")

    def shutdown(self):
        self.shutdowns += 1


def test_a_client_server_that_fails_to_start_a_session_is_asked_again():
    from d2lbuild.cluster import connect

    lines: list[str] = []
    ray = FlakyRay(failures=2)
    connect(ray, "ray://127.0.0.1:10001", lines.append, pause=0)
    assert (ray.calls, ray.shutdowns) == (3, 2)
    assert lines == [f"cluster ray://127.0.0.1:10001: the server could not start a session (RuntimeError: Proxy failed to Connect to backend!); trying again ({n} of 3)" for n in (2, 3)]


def test_a_client_server_that_never_starts_a_session_is_one_line_with_its_reason():
    from d2lbuild.cluster import connect
    from d2lbuild.errors import BuildError

    ray = FlakyRay(failures=5)
    with pytest.raises(BuildError) as caught:
        connect(ray, "ray://127.0.0.1:10001", lambda line: None, pause=0)
    assert ray.calls == 3
    assert str(caught.value) == "--cluster: cannot connect to the Ray cluster at ray://127.0.0.1:10001: RuntimeError: Proxy failed to Connect to backend!"


# ---------------------------------------------------------------------------------------------------------------
# the cluster


class LocalCluster:
    """A head node and a second node started with ``ray start`` in this namespace."""

    def __init__(self, base: Path):
        self.base = base
        self.marker = f"{os.getpid()}-{time.time_ns()}"
        self.bin = Path(sys.executable).parent
        self.temp = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))  # Ray's sockets: a short path
        self.tools = base / "head-tools"  # on the head's PATH only: an interpreter the second node lacks
        self.tools.mkdir(parents=True)
        wrapper = self.tools / "d2l-test-python"  # with a stand-in torch: eval checks that the interpreter has the tab's framework
        (self.tools / "modules/torch").mkdir(parents=True)
        (self.tools / "modules/torch/__init__.py").write_text("")
        wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="$PYTHONPATH:{self.tools}/modules" exec "{sys.executable}" "$@"\n')
        wrapper.chmod(0o755)

    def env(self, node: str) -> dict[str, str]:
        env = {**os.environ, MARKER: f"{self.marker}:{node}", "D2LBUILD_NODE_DIR": str(self.base / node), "D2LBUILD_NODE_NAME": node}
        env.update(RAY_USAGE_STATS_ENABLED="0", RAY_health_check_period_ms="500", RAY_health_check_timeout_ms="1000",
                   RAY_health_check_failure_threshold="3")
        if node == "head":
            env["PATH"] = f"{self.tools}{os.pathsep}{env['PATH']}"
        return env

    def start(self) -> None:
        common = ["--num-cpus", "1", "--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]
        head = [str(self.bin / "ray"), "start", "--head", "--port", str(PORT), "--num-gpus", str(HEAD_GPUS),
                "--include-dashboard=false", "--temp-dir", str(self.temp), *common]
        self.ray_start(head, "head")
        self.start_second()

    def start_second(self) -> None:
        command = [str(self.bin / "ray"), "start", "--address", ADDRESS, "--num-gpus", str(SECOND_GPUS), "--num-cpus", "1",
                   "--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]
        self.ray_start(command, "second")
        self.wait_for_nodes(2)

    def ray_start(self, command: list[str], node: str, attempts: int = 2) -> None:
        """``ray start``, once more after a failure (on a loaded machine a node may time out while starting)."""
        for _ in range(attempts):
            result = subprocess.run(command, capture_output=True, text=True, env=self.env(node), timeout=180)
            if result.returncode == 0:
                return
            self.kill(node)  # what it left before trying again
            time.sleep(2)
        raise AssertionError(result.stdout + result.stderr)

    def query(self, code: str):
        """Run ``code`` in a driver of its own (this process stays no Ray driver); its JSON output."""
        program = f"import json, ray\nray.init(address={ADDRESS!r}, logging_level='ERROR', log_to_driver=False)\n{code}"
        result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, env=self.env("client"))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def client_server_logs(self, lines: int = 40) -> str:
        """The last lines of the head's Ray client server logs (the proxy and the session servers it started)."""
        found = sorted(self.temp.glob("session_latest/logs/ray_client_server*"))
        return "\n".join(f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) for path in found)

    def wait_for_nodes(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query("print(json.dumps(sum(n['Alive'] for n in ray.nodes())))") == count:
                return
            time.sleep(0.5)
        raise AssertionError(f"the cluster did not reach {count} live nodes")

    def available(self) -> dict:
        return self.query("print(json.dumps(ray.available_resources()))")

    def processes(self, node: str | None = None) -> list:
        """This cluster's processes (of one node): those with the marker in their environment, and their descendants.

        Ray's agents rename themselves over their environment, so they are found as children.
        """
        import psutil

        wanted = f"{self.marker}:{node}" if node else None
        found = {}
        for process in psutil.process_iter():
            try:
                value = process.environ().get(MARKER, "")
                if value.startswith(self.marker) and (wanted is None or value == wanted):
                    found[process.pid] = process
                    found.update((child.pid, child) for child in process.children(recursive=True))
            except (psutil.Error, OSError):
                continue
        return list(found.values())

    def kill(self, node: str | None = None) -> None:
        import psutil

        for process in self.processes(node):
            try:
                process.kill()
            except psutil.Error:
                pass

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not IN_NAMESPACE:
        pytest.skip("runs inside a private network namespace")
    assert only_loopback(), "the cluster tests must run in a private network namespace"
    local = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        local.start()
        yield local
    finally:
        local.stop()


# ---------------------------------------------------------------------------------------------------------------
# books

CONFIG = """\
[build]
index = index
notebooks = **/*.md
tabs = pytorch
resources = data/

[eval]
timeout = 30
timeouts =
    ch/hangs.md = 2
{extra}
"""

LIBRARY = """\
# Library

```{.python .input}
def double(x):  #@save
    return 2 * x

def try_gpu():  #@save
    import os
    return 'gpu ' + os.environ.get('CUDA_VISIBLE_DEVICES', '')
```
"""

FILES = {
    "ch/lib.md": LIBRARY,
    "ch/uses.md": "# Uses\n\n```{.python .input}\nfrom d2l import torch as d2l\nprint(d2l.double(21))\n```\n",
    "ch/data.md": "# Data\n\n```{.python .input}\nprint(open('../data/words.txt').read().strip())\nopen('written.txt', 'w').write('made here')\n```\n",
    "ch/fails.md": "# Fails\n\n```{.python .input}\nfrom d2l import torch as d2l\nprint(d2l.double(1))\n1 / 0\n```\n",
    "ch/hangs.md": "# Hangs\n\n```{.python .input}\nimport time\ntime.sleep(60)\n```\n",
}


def make_book(root: Path, files: dict[str, str], extra: str = "") -> Path:
    write_book(root, files, config=CONFIG.format(extra=extra))
    (root / "data").mkdir(exist_ok=True)
    (root / "data/words.txt").write_text("hello from data\n")
    return root


def eval_book(root: Path, **options) -> tuple[dict, list[str]]:
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=2, **options), lambda total: PlainProgress(total, lines.append), log=lines.append)
    return {r.job.chapter: r for r in outcome.results}, lines


def report(root: Path) -> dict:
    return json.loads((root / "build/eval/pytorch/report.json").read_text())


def texts(root: Path, chapter: str) -> list:
    """The outputs of a notebook's code cells, without execution counts."""
    name = chapter.replace(".md", ".ipynb")
    path = root / "build/eval/pytorch" / name
    if not path.exists():
        path = path.with_suffix(".failed.ipynb")
    notebook = json.loads(path.read_text())
    found = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            found.append({k: v for k, v in output.items() if k not in ("execution_count", "traceback")})
    return found


def start_eval(root: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CI": "1"}
    command = [sys.executable, "-m", "d2lbuild", "--root", str(root), "eval", "--cluster", ADDRESS, *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def started_on(cluster: LocalCluster, node: str) -> list[Path]:
    """Notebooks written into the node's working folders (so started there)."""
    return list((cluster.base / node / "runs").glob("*/build/notebooks/**/*.ipynb"))


def kernels_left(cluster: LocalCluster) -> list[str]:
    """Kernels, their `sleep`s and warm templates of the cluster still running (an ended process not yet reaped,
    a zombie, runs nothing)."""
    import psutil

    left = []
    for process in cluster.processes():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.name() == "sleep" or "ipykernel" in " ".join(process.cmdline()):
                left.append(f"{process.pid} {process.name()}")
        except psutil.Error:
            continue
    return left


def wait_until(condition, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------------------------
# tests


@inside
def test_cluster_gives_what_a_local_run_gives_and_a_second_run_sends_nothing(cluster, tmp_path):
    local = make_book(tmp_path / "local", FILES)
    remote = make_book(tmp_path / "remote", FILES)
    local_results, _ = eval_book(local)
    remote_results, lines = eval_book(remote, cluster=ADDRESS)
    assert {c: r.status for c, r in remote_results.items()} == {c: r.status for c, r in local_results.items()}
    assert remote_results["ch/fails.md"].status == "failed" and remote_results["ch/uses.md"].status == "ok"
    assert remote_results["ch/hangs.md"].failure == "timed out" and remote_results["ch/hangs.md"].seconds < 20  # held on the node
    assert not [line for line in lines if "warm kernels off" in line]  # kernels forked from the node's template
    for chapter in local_results:
        assert texts(remote, chapter) == texts(local, chapter), chapter
    keep = ("chapter", "notebook", "status", "failure", "cached", "reason", "library_names", "needs_gpu", "timeout")
    local_records = [{k: n[k] for k in keep} for n in report(local)["notebooks"]]
    remote_records = [{k: n[k] for k in keep} for n in report(remote)["notebooks"]]
    assert remote_records == local_records
    assert {n["node"].split()[0] for n in report(remote)["notebooks"]} <= {"head", "second"}
    assert remote_results["ch/fails.md"].reason == local_results["ch/fails.md"].reason  # the chapter line, not a node path
    assert (remote / "build/eval/pytorch/ch/written.txt").read_text() == "made here"  # came back with its notebook
    assert any(" on head " in line or " on second " in line for line in lines)
    assert json.loads((remote / "build/eval/pytorch/cache.json").read_text())["data"].keys() == json.loads(
        (local / "build/eval/pytorch/cache.json").read_text())["data"].keys()

    again, _ = eval_book(remote, cluster=ADDRESS)
    failing = {"ch/fails.md", "ch/hangs.md"}
    assert {c: r.status for c, r in again.items() if c not in failing} == dict.fromkeys(set(again) - failing, "cached")
    (remote / "ch/fails.md").write_text(FILES["ch/fails.md"].replace("1 / 0", "print('fixed')"))
    (remote / "ch/hangs.md").write_text(FILES["ch/hangs.md"].replace("60", "0"))
    fixed, _ = eval_book(remote, cluster=ADDRESS)
    assert fixed["ch/fails.md"].status == "ok" and fixed["ch/fails.md"].node is not None
    nothing, _ = eval_book(remote, cluster=ADDRESS)
    assert {r.status for r in nothing.values()} == {"cached"}
    assert report(remote)["cluster"]["nodes"] == []  # no agent was even started: nothing went to the cluster


@inside
def test_through_the_ray_client_and_a_bad_address(cluster, tmp_path):
    from conftest import run

    from d2lbuild.errors import BuildError

    root = make_book(tmp_path / "book", FILES)
    try:
        results, _ = eval_book(root, cluster="ray://127.0.0.1:10001")
    except BuildError as err:  # what the head's client server logged says why
        raise AssertionError(f"{err}\n{cluster.client_server_logs()}") from None
    expected = {"ch/lib.md": "ok", "ch/uses.md": "ok", "ch/data.md": "ok", "ch/fails.md": "failed", "ch/hangs.md": "failed", "index.md": "ok"}
    assert {c: r.status for c, r in results.items()} == expected
    assert {r.node.split()[0] for r in results.values()} <= {"head", "second"}
    assert (root / "build/eval/pytorch/ch/written.txt").read_text() == "made here"
    result = run(root, "eval", "--force", "--cluster", "127.0.0.1:1")
    assert result.exit_code == 1
    assert result.stderr.startswith("--cluster: cannot connect to the Ray cluster at 127.0.0.1:1: ") and result.stderr.count("\n") == 1


GPU_NOTEBOOK = """\
# GPU {n}

```{{.python .input}}
import os, time
from d2l import torch as d2l
began = time.time()
time.sleep(2)
print(os.environ['CUDA_VISIBLE_DEVICES'], os.environ['D2LBUILD_NODE_NAME'], began, time.time(), d2l.try_gpu())
```
"""


@inside
def test_gpu_notebooks_each_see_their_own_gpus(cluster, tmp_path):
    files = {"ch/lib.md": LIBRARY, **{f"ch/gpu{n}.md": GPU_NOTEBOOK.format(n=n) for n in range(5)}}
    root = make_book(tmp_path / "book", files)
    results, _ = eval_book(root, cluster=ADDRESS)
    assert {r.status for r in results.values()} == {"ok"}
    runs = []
    for n in range(5):
        device, node, began, ended, _ = "".join(texts(root, f"ch/gpu{n}.md")[0]["text"]).split(maxsplit=4)
        runs.append((node, device, float(began), float(ended)))
        assert results[f"ch/gpu{n}.md"].gpu == device
        declared = HEAD_GPUS if node == "head" else SECOND_GPUS
        assert device.isdigit() and int(device) < declared  # one GPU, one the node declares
    for a in runs:
        for b in runs:
            if a is not b and a[0] == b[0] and a[2] < b[3] and b[2] < a[3]:
                assert a[1] != b[1], (a, b)  # two notebooks at once on one node: different GPUs
    assert len({(node, device) for node, device, *_ in runs}) == HEAD_GPUS + SECOND_GPUS  # every GPU was used
    assert cluster.available().get("GPU") == HEAD_GPUS + SECOND_GPUS  # all given back


CPU_NOTEBOOK = """\
# CPU {n}

```{{.python .input}}
import os, time
began = time.time()
time.sleep(1)
print(os.environ['D2LBUILD_NODE_NAME'], began, time.time())
```
"""


@inside
def test_a_cpu_notebook_holds_its_cpu_while_it_runs(cluster, tmp_path):
    root = make_book(tmp_path / "book", {f"ch/cpu{n}.md": CPU_NOTEBOOK.format(n=n) for n in range(6)})
    results, _ = eval_book(root, cluster=ADDRESS)
    assert {r.status for r in results.values()} == {"ok"}
    runs = [" ".join(texts(root, f"ch/cpu{n}.md")[0]["text"]).split() for n in range(6)]
    for a in runs:
        for b in runs:
            if a is not b and a[0] == b[0]:
                assert float(a[2]) <= float(b[1]) or float(b[2]) <= float(a[1]), (a, b)  # one at a time on a one-CPU node
    assert {node for node, *_ in runs} == {"head", "second"}


@inside
def test_a_node_that_cannot_build_the_environment_leaves_its_notebooks_to_others(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{cluster.tools}{os.pathsep}{os.environ['PATH']}")
    files = {"ch/lib.md": LIBRARY, **{f"ch/n{n}.md": f"# N{n}\n\n```{{.python .input}}\nimport os\nprint(os.environ['D2LBUILD_NODE_NAME'])\n```\n" for n in range(4)}}
    root = make_book(tmp_path / "book", files, extra="python = d2l-test-python")
    results, lines = eval_book(root, cluster=ADDRESS)
    assert {r.status for r in results.values()} == {"ok"}, [r.reason for r in results.values()] + lines
    assert {"".join(texts(root, f"ch/n{n}.md")[0]["text"]).strip() for n in range(4)} == {"head"}
    failed = report(root)["cluster"]["failed_nodes"]
    assert [name.split()[0] for name in failed] == ["second"]
    assert "d2l-test-python not found on this node" in next(iter(failed.values()))
    assert any(line.startswith("node second") and "cannot run tab pytorch" in line for line in lines)


SLOW = "# Slow {n}\n\n```{{.python .input}}\nimport subprocess, time\nchild = subprocess.Popen(['sleep', '60'])\ntime.sleep({seconds})\n```\n"


@inside
def test_ctrl_c_interrupts_the_cluster_and_leaves_nothing_running(cluster, tmp_path):
    root = make_book(tmp_path / "book", {f"ch/slow{n}.md": SLOW.format(n=n, seconds=30) for n in range(5)})
    process = start_eval(root, "--junit", str(root / "junit.xml"))
    wait_until(lambda: started_on(cluster, "head") and started_on(cluster, "second"), what="a notebook on each node")
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert time.monotonic() - signalled < 15
    statuses = sorted(n["status"] for n in report(root)["notebooks"])
    assert statuses == ["interrupted", "interrupted", "not run", "not run", "not run", "not run"], out + err  # index.md too
    assert 'skipped="6"' in (root / "junit.xml").read_text()
    assert not (root / "build/eval/pytorch/cache.json").exists()
    assert "Traceback" not in err
    wait_until(lambda: not kernels_left(cluster), timeout=15, what="no kernel, sleep or template of the cluster left running")
    wait_until(lambda: cluster.available().get("CPU") == 2, timeout=30, what="every CPU given back")


@inside
def test_a_node_lost_mid_run_has_its_notebooks_run_again_elsewhere(cluster, tmp_path):
    files = {f"ch/nap{n}.md": f"# Nap {n}\n\n```{{.python .input}}\nimport time\ntime.sleep(4)\n```\n" for n in range(4)}
    root = make_book(tmp_path / "book", files)
    process = start_eval(root)
    try:
        wait_until(lambda: started_on(cluster, "second"), what="a notebook on the second node")
        time.sleep(1)
        cluster.kill("second")
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out + err
    records = report(root)["notebooks"]
    assert {n["status"] for n in records} == {"ok"}
    retried = [n for n in records if n["retries"]]
    assert retried and all(n["node"].startswith("head") for n in retried)
    assert all(r.startswith("second") and "lost" in r for n in retried for r in n["retries"])
    assert "ran again: second" in out
    cluster.start_second()  # for any test after this one
