"""Show eval progress and results: a live display on a terminal, plain lines otherwise, JSON and JUnit files."""

from __future__ import annotations

import time
from pathlib import Path
from xml.etree import ElementTree

from .fsutil import write_atomic
from .runner import RunResult
from .schedule import Job, Status
from .stores import StoreType, has_fields

# build/eval/TAB/report.json: people read it too, so its fields stay at the top beside kind and version
REPORT_STORE = StoreType("eval-report", 1, lambda data: has_fields(data, {"notebooks": list}), inline=True)

RUN_WORDS = {Status.CACHED: "cached", Status.NOT_RUN: "-", Status.SKIPPED: "-"}


class PlainProgress:
    """One line per finished notebook, for logs and CI."""

    def __init__(self, total: int, echo):
        self.total, self.done, self.echo = total, 0, echo

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def started(self, job: Job, gpu: str | None, node: str | None = None) -> None:
        pass

    def finished(self, result: RunResult) -> None:
        self.done += 1
        gpu = f" gpu {result.gpu}" if result.gpu is not None else ""
        line = f"[{self.done}/{self.total}] {result.status:6} {result.seconds:6.1f}s  {result.job.tab}  {result.job.chapter}"
        line += f"{gpu}{where(result)}"
        self.echo(line)
        for retry in result.retries:
            self.echo(f"    ran again: {retry}")
        if result.status in (Status.FAILED, Status.SKIPPED):
            self.echo(f"    {result.reason}")


class LiveProgress(PlainProgress):
    """A rich live display: done/total, what is running, elapsed time."""

    def __init__(self, total: int, echo):
        from rich.console import Console
        from rich.live import Live

        super().__init__(total, echo)
        self.console = Console()
        self.running: dict[str, tuple[float, str]] = {}
        self.start = time.monotonic()
        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.__exit__(*exc)

    def _render(self):
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        elapsed = time.monotonic() - self.start
        table.add_row(f"[bold]eval[/] {self.done}/{self.total} done, {len(self.running)} running, {elapsed:.0f}s elapsed")
        for name, (since, gpu) in self.running.items():
            table.add_row(f"  running {name}{gpu}  {time.monotonic() - since:.0f}s")
        return table

    def started(self, job: Job, gpu: str | None, node: str | None = None) -> None:
        where = (f" on {node}" if node else "") + (f" (gpu {gpu})" if gpu is not None else "")
        self.running[f"{job.tab} {job.chapter}"] = (time.monotonic(), where)
        self.live.update(self._render())

    def finished(self, result: RunResult) -> None:
        self.running.pop(f"{result.job.tab} {result.job.chapter}", None)
        self.done += 1
        style = {Status.OK: "green", Status.CACHED: "dim", Status.FAILED: "bold red"}.get(result.status, "yellow")
        line = f"[{style}]{result.status:6}[/] {result.seconds:6.1f}s  {result.job.tab}  {result.job.chapter}{where(result)}"
        self.live.console.print(line)
        for retry in result.retries:
            self.live.console.print(f"    ran again: {retry}", markup=False, highlight=False)
        if result.status in (Status.FAILED, Status.SKIPPED):
            self.live.console.print(f"    [{style}]{result.reason}[/]", markup=True, highlight=False)
        self.live.update(self._render())


def where(result: RunResult) -> str:
    """`` on NODE`` for a notebook that ran on a cluster node."""
    return f" on {result.node}" if result.node else ""


def summary_lines(results: list[RunResult]) -> list[str]:
    """The end-of-run table: notebook, status, seconds, cached or run, GPU rule."""
    width = max((len(r.job.chapter) for r in results), default=8)
    lines = [f"{'notebook'.ljust(width)}  {'tab':10}  status  seconds  run         device"]
    for result in sorted(results, key=lambda r: (r.job.tab, r.job.chapter)):
        run = "remembered" if result.remembered else RUN_WORDS.get(result.status, "run")
        status = reported_status(result)
        device = f"gpu {result.gpu}" if result.gpu is not None else "cpu"
        if result.job.needs_gpu:
            device += f" ({result.job.gpu_reason})"
        lines.append(f"{result.job.chapter.ljust(width)}  {result.job.tab:10}  {status:6}  {result.seconds:7.1f}  {run:10}  {device}")
    counts = {status: sum(r.status is status for r in results) for status in Status}
    line = f"{len(results)} notebooks: {counts[Status.OK]} ran ok, {counts[Status.CACHED]} cached, {counts[Status.FAILED]} failed"
    remembered = sum(r.remembered for r in results)
    if remembered:
        line += f" ({remembered} remembered from an earlier run, not run again: --retry-failed runs them)"
    stopped = [f"{counts[status]} {status.value}" for status in (Status.SKIPPED, Status.INTERRUPTED, Status.NOT_RUN) if counts[status]]
    lines.append(", ".join([line, *stopped]))
    return lines


def reported_status(result: RunResult) -> str:
    """The status as reports show it: a cached notebook is ok; a failure names its kind."""
    if result.status is Status.CACHED:
        return Status.OK.value
    if result.status is Status.FAILED and result.failure is not None:
        return f"{Status.FAILED.value} ({result.failure.value})"
    return result.status.value


def result_record(result: RunResult) -> dict:
    return {
        "chapter": result.job.chapter,
        "notebook": result.job.result,
        "status": Status.OK.value if result.status is Status.CACHED else result.status.value,
        "failure": result.failure.value if result.failure is not None else None,
        "cached": result.status is Status.CACHED,
        "seconds": round(result.seconds, 3),
        "gpu": result.gpu,
        "needs_gpu": result.job.needs_gpu,
        "gpu_rule": result.job.gpu_reason,
        "timeout": result.job.timeout,
        "reason": result.reason,
        "remembered": result.remembered,
        "gpus_needed": result.job.gpus,
        "traceback": result.traceback,
        "library_names": result.depends_on,
    } | cluster_record(result)


def cluster_record(result: RunResult) -> dict:
    """Where a notebook ran on a cluster, and why it ran again; nothing for a local run."""
    if result.node is None and not result.retries:
        return {}
    return {"node": result.node, "retries": result.retries}


def write_report(path: Path, tab: str, results: list[RunResult], meta: dict, kept: list[dict] = ()) -> None:
    """``report.json``: this eval's notebooks, and ``kept``, the last report's lines of sections it left out."""
    records = sorted([result_record(r) for r in results] + list(kept), key=lambda record: record["chapter"])
    REPORT_STORE.write(path, {"tab": tab, **meta, "notebooks": records})


def write_junit(path: Path, results: list[RunResult]) -> None:
    """JUnit XML: a test suite per tab, a test case per notebook."""
    suites = ElementTree.Element("testsuites")
    for tab in sorted({r.job.tab for r in results}):
        mine = [r for r in results if r.job.tab == tab]
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=f"eval-{tab}",
            tests=str(len(mine)),
            failures=str(sum(r.status is Status.FAILED for r in mine)),
            skipped=str(sum(r.status in (Status.INTERRUPTED, Status.NOT_RUN, Status.SKIPPED) for r in mine)),
            time=f"{sum(r.seconds for r in mine):.3f}",
        )
        for result in sorted(mine, key=lambda r: r.job.chapter):
            case = ElementTree.SubElement(suite, "testcase", classname=tab, name=result.job.chapter, time=f"{result.seconds:.3f}")
            if result.status is Status.FAILED:
                kind = result.failure.value if result.failure else "error"
                failure = ElementTree.SubElement(case, "failure", message=result.reason, type=kind)
                failure.text = result.traceback
            elif result.status is Status.SKIPPED:
                ElementTree.SubElement(case, "skipped", message=result.reason.split(": ", 1)[-1])
            elif result.status in (Status.INTERRUPTED, Status.NOT_RUN):
                ElementTree.SubElement(case, "skipped", message=result.status.value)
            elif result.status is Status.CACHED:
                ElementTree.SubElement(case, "system-out").text = "cached: nothing it depends on changed"
    write_atomic(path, ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")
