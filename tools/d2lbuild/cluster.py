"""The driver side of ``eval --cluster``: the notebooks a local eval would run go to a Ray cluster instead.

The driver plans exactly as a local eval does (notebooks, cache keys, the library index); only the jobs of the plan
are sent. One agent per node and tab (``cluster_node.NodeAgent``) receives the library and the resources by content
digest, once per node, builds the tab's environment from the same specification and keeps a warm template. Each
notebook is a Ray task asking for one CPU (a GPU notebook: its GPU and no CPU), so Ray schedules it, sets its
``CUDA_VISIBLE_DEVICES``, and reports a node that is lost; such a notebook runs again elsewhere, a bounded number of
times. Results come back as plain data and the driver alone writes ``build/eval``, the cache and the reports.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .cluster_node import NodeAgent, notebook_task
from .envs import requirement_files
from .errors import BuildError
from .fsutil import source_digest, write_atomic
from .hashing import FULL_LENGTH, digest
from .layout import eval_dir
from .runner import RunResult
from .schedule import Failure, Job, Status
from .stopping import STOP_SIGNALS
from .workspace import resource_files

ATTEMPTS = 3  # runs of a notebook whose node was lost, in all
POLL_SECONDS = 0.1
EVENTS_SECONDS = 0.5  # how often the driver asks the agents which notebooks started (the progress display)
PREPARE_SECONDS = 3600.0  # building an environment on a node may take long (pip)
STOP_SECONDS = 20.0  # after Ctrl-C, how long interrupted notebooks may take to come back before they are cancelled
CLOSE_SECONDS = 30.0
REACH_SECONDS = 10.0
CONNECT_ATTEMPTS = 3  # a Ray client server (ray://) that fails to start a session is asked this many times in all
CONNECT_PAUSE_SECONDS = 5.0  # before the second try; twice that before the third


def ray_module():
    """Ray, or one clear line when the optional extra is missing."""
    try:
        import ray
    except ImportError:
        raise BuildError("--cluster", "Ray is not installed: pip install 'd2lbuild[ray]'") from None
    return ray


class Cluster:
    """A connection to a Ray cluster for one eval (all its tabs)."""

    def __init__(self, address: str, log):
        ray = ray_module()
        self.ray, self.address, self.log = ray, address, log
        check_reachable(address)
        connect(ray, address, log)
        self.run_id = uuid.uuid4().hex[:12]
        self.task = ray.remote(notebook_task)
        self.agent = ray.remote(NodeAgent)
        nodes = self.nodes()
        log(f"cluster {address}: {len(nodes)} nodes, {self.total('CPU'):g} CPUs, {self.total('GPU'):g} GPUs")

    def nodes(self) -> list[dict]:
        """The live nodes that can run notebooks (a CPU or a GPU)."""
        alive = [node for node in self.ray.nodes() if node.get("Alive")]
        return [node for node in alive if node["Resources"].get("CPU", 0) > 0 or node["Resources"].get("GPU", 0) > 0]

    def total(self, resource: str) -> float:
        return sum(node["Resources"].get(resource, 0) for node in self.nodes())

    def adjust(self, options):
        """The eval's options for planning: the GPUs are those of the node with most; one math thread per kernel (one CPU each)."""
        from .schedule import usable_cpus

        most = max((int(node["Resources"].get("GPU", 0)) for node in self.nodes()), default=0)
        gpus = () if options.device == "cpu" else tuple(str(n) for n in range(most))
        return dataclasses.replace(options, gpus=gpus, workers=usable_cpus())

    def run_tab(self, root: Path, config, tab: str, plan, store, progress, stop=None) -> tuple[list[RunResult], int | None]:
        """Run the plan's jobs on the cluster; their results (written by ``store``) and the signal that stopped it.

        ``stop`` (a ``stopping.StopFlag``) holds a signal received while the tab was prepared: then nothing is sent."""
        run = TabRun(self, root, config, tab, plan, store, progress)
        run.signal = stop.number if stop is not None else None
        results = run.run()
        plan.meta["cluster"] = run.summary()
        return results, run.signal

    def close(self) -> None:
        self.ray.shutdown()


def check_reachable(address: str) -> None:
    """Fail at once, in one line, when a ``HOST:PORT`` or ``ray://HOST:PORT`` address does not answer (Ray would retry for minutes)."""
    import socket

    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit() or address == "auto":
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as err:
        raise unreachable(address, str(err.strerror or err)) from None


def connect(ray, address: str, log, attempts: int = CONNECT_ATTEMPTS, pause: float = CONNECT_PAUSE_SECONDS) -> None:
    """``ray.init`` on the address; a Ray client server that fails to start the session is asked again, saying why."""
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=True)
            return
        except ConnectionAbortedError as err:  # the client server's own failure, sent back as its traceback
            reason = server_reason(err)
            if attempt == attempts:
                raise unreachable(address, reason) from None
            log(f"cluster {address}: the server could not start a session ({reason}); trying again ({attempt + 1} of {attempts})")
            ray.shutdown()
            time.sleep(pause * attempt)
        except Exception as err:  # noqa: BLE001 - Ray raises many kinds; each is one line here
            raise unreachable(address, first_line(err)) from None


def unreachable(address: str, reason: str) -> BuildError:
    return BuildError("--cluster", f"cannot connect to the Ray cluster at {address}: {reason}")


def server_reason(err: BaseException) -> str:
    """The last line of what a Ray client server sent back (its traceback's exception), or the error's first line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1] if len(lines) > 1 else first_line(err)


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def content_digest(data: bytes) -> str:
    return digest(data, length=FULL_LENGTH)


@dataclass
class Entry:
    """One notebook on its way through the cluster."""

    job: Job
    attempts: int = 0
    node: str | None = None  # where it started last
    started: bool = False
    retries: list[str] = field(default_factory=list)


class TabRun:
    """One tab's jobs on the cluster: agents prepared, tasks submitted, results stored, Ctrl-C handled."""

    def __init__(self, cluster: Cluster, root: Path, config, tab: str, plan, store, progress):
        self.cluster, self.ray, self.root, self.config, self.tab = cluster, cluster.ray, root, config, tab
        self.plan, self.store, self.progress, self.log = plan, store, progress, cluster.log
        self.agents: dict[str, object] = {}  # node id -> agent
        self.names: dict[str, str] = {}  # node id -> its name
        self.cursors: dict[str, int] = {}
        self.ready: list[str] = []  # node ids whose agent is ready
        self.pending: dict[object, Entry] = {}  # task reference -> entry
        self.entries: dict[str, Entry] = {}
        self.results: list[RunResult] = []
        self.signal: int | None = None
        self.stopping_since: float | None = None
        self.first_started: float | None = None
        self.failed_nodes: dict[str, str] = {}
        self.round = 0
        self.polled = 0.0

    def summary(self) -> dict:
        """What report.json says about the cluster."""
        return {
            "address": self.cluster.address,
            "nodes": sorted(self.names[node] for node in self.ready),
            "failed_nodes": self.failed_nodes,
            "first_started_at": self.first_started,
        }

    def run(self) -> list[RunResult]:
        if not self.plan.jobs:
            return []
        restore = self.catch_signals()
        try:
            if self.signal is None:  # else stopped while the tab was prepared: nothing is sent
                self.start_agents()
                self.prepare()
            if not self.ready and self.signal is None:
                self.fail_all()
            else:
                for job in self.plan.jobs:
                    self.entries[job.chapter] = Entry(job)
                    if self.signal is None:
                        self.submit(self.entries[job.chapter])
                self.wait()
        finally:
            self.close_agents()
            restore()
        finished = {result.job.chapter for result in self.results}
        for job in self.plan.jobs:
            if job.chapter not in finished:
                self.finish(RunResult(job, Status.NOT_RUN))
        return self.results

    # signals -------------------------------------------------------------------------------------------------

    def catch_signals(self):
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
        for number in STOP_SIGNALS:
            signal.signal(number, self.on_signal)

        def restore() -> None:
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore

    def on_signal(self, number: int, frame) -> None:
        if self.signal is not None:
            self.abort()
        self.signal = number
        name = signal.Signals(number).name
        self.log(f"{name}: stopping; notebooks running on the cluster are interrupted, pending ones not run ({name} again stops at once)")

    def abort(self) -> None:
        """A second signal: cancel every task, kill the agents (their templates and kernels end with them) and exit."""
        for reference in list(self.pending):
            self.ray.cancel(reference, force=True)
        for agent in self.agents.values():
            self.ray.kill(agent)
        self.cluster.close()
        os._exit(128 + (self.signal or signal.SIGINT))

    # agents --------------------------------------------------------------------------------------------------

    def start_agents(self) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        for node in self.cluster.nodes():
            node_id = node["NodeID"]
            strategy = NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
            self.agents[node_id] = self.cluster.agent.options(
                name=self.agent_name(node_id), num_cpus=0, max_concurrency=1000, scheduling_strategy=strategy
            ).remote(self.tab, f"{self.cluster.run_id}-{self.tab}", str(self.root))  # its run name: the tasks' too
            self.names[node_id] = node.get("NodeManagerAddress", node_id[:8])

    def agent_name(self, node_id: str) -> str:
        return f"d2lbuild-{self.cluster.run_id}-{self.tab}-{node_id}"

    def setup(self) -> tuple[dict, dict[str, bytes]]:
        """What every agent needs: the environment's specification, the files by content, the kernels' settings."""
        settings = self.config.eval_settings(self.tab)
        sources: dict[str, Path] = {str(Path(path).resolve().relative_to(self.root.resolve())): Path(path) for path in self.plan.library}
        folder = eval_dir(self.tab)
        resources = {f"{folder}/{relative}": path for relative, path in resource_files(self.config).items()}
        requirements = {str(path.relative_to(self.root.resolve())): path for path in requirement_files(self.config, self.tab)}
        contents: dict[str, bytes] = {}
        files: dict[str, str] = {}
        for relative, path in {**sources, **resources, **requirements}.items():
            data = path.read_bytes()
            files[relative] = content_digest(data)
            contents[files[relative]] = data
        setup = {
            "tool": source_digest(),
            "spec": {"requirements": list(settings.requirements), "python": settings.python,
                     "files": {relative: files[relative] for relative in sorted(requirements)}},
            "files": files,
            "resources": sorted(resources),
            "library": sorted(sources),
            "index": self.store.index,
            "variables": self.plan.variables,
            "preload": list(self.plan.preload) if self.plan.preload is not None else None,
        }
        return setup, contents

    def prepare(self) -> None:
        """Every agent checks its node; the files it lacks are sent (each put once), then it builds the environment."""
        setup, contents = self.setup()
        replies = self.gather({node: agent.prepare.remote(setup) for node, agent in self.agents.items()}, PREPARE_SECONDS)
        sent: dict[str, object] = {}
        installing = {}
        for node, reply in replies.items():
            if isinstance(reply, BaseException) or "error" in reply:
                error = first_line(reply) if isinstance(reply, BaseException) else reply["error"]
                self.names[node] = self.names[node] if isinstance(reply, BaseException) else reply["node"]
                self.failed_nodes[self.names[node]] = error
                self.log(f"node {self.names[node]}: cannot run tab {self.tab}: {error}; its notebooks go to other nodes")
                continue
            self.names[node] = reply["node"]
            blobs = {}
            for name in reply["missing"]:
                if name not in sent:
                    sent[name] = self.ray.put(contents[name])
                blobs[name] = sent[name]
            installing[node] = self.agents[node].install.remote(blobs)
        for node, reply in self.gather(installing, PREPARE_SECONDS).items():
            if isinstance(reply, BaseException) or "error" in reply:
                error = first_line(reply) if isinstance(reply, BaseException) else reply["error"]
                self.failed_nodes[self.names[node]] = error
                self.log(f"node {self.names[node]}: cannot run tab {self.tab}: {error}; its notebooks go to other nodes")
                continue
            for message in reply["messages"]:
                self.log(message)
            self.ready.append(node)
            self.cursors[node] = 0

    def gather(self, references: dict[str, object], timeout: float) -> dict[str, object]:
        """Each node's reply (or the exception its call raised), waiting at most ``timeout``, stopping on a signal."""
        waiting = {reference: node for node, reference in references.items()}
        replies: dict[str, object] = {}
        deadline = time.monotonic() + timeout
        while waiting and self.signal is None and time.monotonic() < deadline:
            done, _ = self.ray.wait(list(waiting), num_returns=len(waiting), timeout=POLL_SECONDS)
            for reference in done:
                node = waiting.pop(reference)
                try:
                    replies[node] = self.ray.get(reference)
                except Exception as err:  # noqa: BLE001 - the agent or its node died
                    replies[node] = err
        for node in waiting.values():
            replies[node] = TimeoutError("no answer") if self.signal is None else InterruptedError("stopped")
        return replies

    def close_agents(self) -> None:
        """Each agent stops its kernels and template and removes its working folder; then it is ended."""
        closing = {node: self.agents[node].close.remote() for node in self.ready}
        done, _ = self.ray.wait(list(closing.values()), num_returns=len(closing), timeout=CLOSE_SECONDS) if closing else ([], [])
        for reference in done:
            try:
                for message in self.ray.get(reference):
                    self.log(message)
            except Exception:  # noqa: BLE001 - a lost node: nothing of it to close
                pass
        for agent in self.agents.values():
            self.ray.kill(agent)

    def fail_all(self) -> None:
        reasons = "; ".join(f"{node}: {error}" for node, error in self.failed_nodes.items()) or "the cluster has no node"
        for job in self.plan.jobs:
            reason = f"{job.chapter}: no node of the cluster can run tab {self.tab} ({reasons})"
            self.finish(RunResult(job, Status.FAILED, 0.0, reason, failure=Failure.NO_KERNEL))

    # tasks ---------------------------------------------------------------------------------------------------

    def submit(self, entry: Entry) -> None:
        """Send one notebook as a task: one CPU, or its GPUs; pinned to a ready node only when some node is not."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        job = entry.job
        gpu = self.plan.use_gpus and job.needs_gpu
        strategy = "DEFAULT"
        if len(self.ready) < len(self.agents):
            self.round += 1
            strategy = NodeAffinitySchedulingStrategy(node_id=self.ready[self.round % len(self.ready)], soft=False)
        notebook = (self.root / job.notebook).read_text(encoding="utf-8")
        payload = {"job": dataclasses.asdict(job), "text": notebook}
        options = {"num_cpus": 0 if gpu else 1, "num_gpus": max(1, job.gpus) if gpu else 0, "max_retries": 0}
        options["scheduling_strategy"] = strategy
        reference = self.cluster.task.options(**options).remote(self.agent_name("{node}"), f"{self.cluster.run_id}-{self.tab}", payload)
        entry.attempts += 1
        self.pending[reference] = entry

    def wait(self) -> None:
        while self.pending:
            if self.signal is not None and self.stopping_since is None:
                self.begin_stop()
            done, rest = self.ray.wait(list(self.pending), num_returns=1, timeout=POLL_SECONDS)
            if done and rest:
                more, _ = self.ray.wait(rest, num_returns=len(rest), timeout=0)
                done += more
            if time.monotonic() - self.polled > EVENTS_SECONDS:
                self.poll_started()
            for reference in done:
                self.collect(reference, self.pending.pop(reference))
            if self.stopping_since is not None and time.monotonic() - self.stopping_since > STOP_SECONDS:
                for reference, entry in list(self.pending.items()):
                    self.ray.cancel(reference, force=True)
                    self.finish(self.stopped(entry))
                self.pending.clear()

    def begin_stop(self) -> None:
        """No notebook starts any more: the agents interrupt theirs, tasks not started are cancelled."""
        self.stopping_since = time.monotonic()
        for node in self.ready:
            self.agents[node].stop.remote()
        self.poll_started()
        for reference, entry in self.pending.items():
            if not entry.started:
                self.ray.cancel(reference)

    def poll_started(self) -> None:
        """Show the notebooks that started on a node since the last poll."""
        self.polled = time.monotonic()
        asked = {node: self.agents[node].started_since.remote(self.cursors[node]) for node in self.ready}
        for node, reply in self.gather(asked, 10.0).items() if asked else ():
            if isinstance(reply, BaseException):
                continue
            self.cursors[node] += len(reply)
            for event in reply:
                entry = self.entries.get(event["chapter"])
                if entry is None or entry.started:
                    continue
                entry.started, entry.node = True, event["node"]
                self.first_started = self.first_started or event["at"]
                self.progress.started(entry.job, event["gpu"], node=event["node"])

    def collect(self, reference, entry: Entry) -> None:
        from ray.exceptions import RayError, TaskCancelledError

        try:
            reply = self.ray.get(reference)
        except TaskCancelledError:
            self.finish(self.stopped(entry))
            return
        except RayError as err:
            self.lost(entry, first_line(err))
            return
        if reply["status"] == "lost":
            self.lost(entry, reply["reason"])
            return
        self.finish(self.result(entry, reply))

    def stopped(self, entry: Entry) -> RunResult:
        status = Status.INTERRUPTED if entry.started else Status.NOT_RUN
        reason = f"{entry.job.chapter}: interrupted" if entry.started else ""
        return RunResult(entry.job, status, 0.0, reason, node=entry.node, retries=entry.retries)

    def lost(self, entry: Entry, reason: str) -> None:
        """The task's node or worker was lost: run the notebook again elsewhere, a bounded number of times."""
        where = entry.node or "its node"
        entry.retries.append(f"{where} lost ({reason})")
        self.forget_dead_nodes()
        if self.signal is not None:
            self.finish(self.stopped(entry))
        elif entry.attempts < ATTEMPTS and self.ready:
            self.log(f"{entry.job.chapter}: {where} lost; running it again on another node")
            entry.started, entry.node = False, None
            self.submit(entry)
        else:
            reason = f"{entry.job.chapter}: lost with its node {entry.attempts} times ({'; '.join(entry.retries)})"
            self.finish(RunResult(entry.job, Status.FAILED, 0.0, reason, failure=Failure.DIED, node=entry.node, retries=entry.retries))

    def forget_dead_nodes(self) -> None:
        alive = {node["NodeID"] for node in self.cluster.nodes()}
        for node in [node for node in self.ready if node not in alive]:
            self.ready.remove(node)
            self.log(f"node {self.names[node]}: lost")

    def result(self, entry: Entry, reply: dict) -> RunResult:
        """The notebook's result; its executed notebook and the files it wrote are stored by the driver."""
        import nbformat

        status = Status(reply["status"])
        for message in reply.get("messages", []):
            self.log(message)
        failure = Failure(reply["failure"]) if reply.get("failure") else None
        result = RunResult(
            entry.job, status, reply.get("seconds", 0.0), reply.get("reason", ""), reply.get("traceback", ""),
            gpu=reply.get("gpu"), failure=failure, node=reply.get("node"), retries=entry.retries,
        )
        if status in (Status.OK, Status.FAILED) and reply.get("notebook") is not None:
            self.write_files(entry.job, reply.get("files", {}))
            self.store.save(result, nbformat.reads(reply["notebook"], as_version=4))
        return result

    def write_files(self, job: Job, files: dict[str, bytes]) -> None:
        """Files the notebook wrote beside itself, into ``build/eval/TAB`` (nothing outside it)."""
        folder = (self.root / eval_dir(self.tab)).resolve()
        for relative, data in files.items():
            target = (self.root / relative).resolve()
            if not target.is_relative_to(folder):
                self.log(f"{job.chapter}: warning: {relative} is outside {eval_dir(self.tab)}; not written")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, data)

    def finish(self, result: RunResult) -> None:
        entry = self.entries.get(result.job.chapter)
        if entry is not None and not entry.started and result.status not in (Status.NOT_RUN,):
            self.progress.started(result.job, result.gpu, node=result.node)
        self.results.append(result)
        self.progress.finished(result)
