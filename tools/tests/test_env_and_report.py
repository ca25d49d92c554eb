"""Environments (without installing anything) and the eval report formats."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from conftest import write_book

from d2lbuild.config import load_config
from d2lbuild.envs import ENV_STAMP, _stamp, ensure_environment
from d2lbuild.errors import BuildError
from d2lbuild.report import LiveProgress, PlainProgress, summary_lines, write_junit, write_report
from d2lbuild.runner import RunResult
from d2lbuild.schedule import Failure, Job, Status


def config_with(tmp_path: Path, eval_section: str):
    root = write_book(tmp_path / "b", {"a.md": "# A\n"}, config=f"[build]\ntabs = pytorch\n{eval_section}")
    return load_config(root)


def fake_environment(config) -> Path:
    """build/envs/pytorch as `d2lbuild env` leaves it, without installing anything."""
    folder = config.root / "build/envs/pytorch"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin/python").symlink_to(sys.executable)
    (folder / "freeze.txt").write_text("numpy==2.0\ntorch==2.13.0\n")
    ENV_STAMP.write(folder / "d2lbuild-env.json", _stamp(config, "pytorch"))
    return folder


def test_no_requirements_means_this_interpreter(tmp_path):
    environment = ensure_environment(config_with(tmp_path, ""), "pytorch", log=lambda _: None)
    assert environment.python == sys.executable and not environment.created


def test_existing_python_is_used_as_it_is(tmp_path, monkeypatch):
    (tmp_path / "site/torch").mkdir(parents=True)  # the tab's framework, as the interpreter's check finds it
    (tmp_path / "site/torch/__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    config = config_with(tmp_path, f"[eval-pytorch]\npython = {sys.executable}\n")
    environment = ensure_environment(config, "pytorch", log=lambda _: None)
    assert environment.python == sys.executable and len(environment.installed) == 16


def test_missing_python_is_a_config_error(tmp_path):
    config = config_with(tmp_path, "[eval-pytorch]\npython = /no/such/python\n")
    with pytest.raises(BuildError, match=r"\[eval-pytorch\] python: /no/such/python not found"):
        ensure_environment(config, "pytorch", log=lambda _: None)


def test_unchanged_requirements_reuse_the_environment(tmp_path):
    config = config_with(tmp_path, "[eval-pytorch]\nrequirements =\n    torch==2.13.0\n    numpy\n")
    folder = fake_environment(config)
    logged: list[str] = []
    environment = ensure_environment(config, "pytorch", log=logged.append)
    assert not environment.created and logged == []
    assert environment.python == str(folder / "bin/python")
    assert config.eval_settings("pytorch").requirements == ("torch==2.13.0", "numpy")


def results() -> list[RunResult]:
    ok = RunResult(Job("pytorch", "ch/a.md", "n/a", "e/a", 60, False, "no GPU rule matched"), Status.OK, 1.5)
    cached = RunResult(Job("pytorch", "ch/b.md", "n/b", "e/b", 60, True, "calls d2l.try_gpu"), Status.CACHED, 2.0, gpu=None)
    failed = RunResult(Job("pytorch", "ch/c.md", "n/c", "e/c", 60, False, "no GPU rule matched"), Status.FAILED, 0.5, "ch/c.md:4: ValueError: no", "Traceback", failure=Failure.ERROR)
    return [ok, cached, failed]


def stopped_results() -> list[RunResult]:
    interrupted = RunResult(Job("pytorch", "ch/d.md", "n/d", "e/d", 60, False, "no GPU rule matched"), Status.INTERRUPTED, 0.7)
    not_run = RunResult(Job("pytorch", "ch/e.md", "n/e", "e/e", 60, False, "no GPU rule matched"), Status.NOT_RUN)
    return results() + [interrupted, not_run]


def test_plain_progress_prints_one_line_per_notebook():
    lines: list[str] = []
    progress = PlainProgress(3, lines.append)
    for result in results():
        progress.finished(result)
    assert lines[0] == "[1/3] ok        1.5s  pytorch  ch/a.md"
    assert lines[-1] == "    ch/c.md:4: ValueError: no"


def test_live_progress_renders_on_a_terminal():
    from rich.console import Console

    progress = LiveProgress(3, print)
    progress.console = progress.live.console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with progress:
        for result in results():
            progress.started(result.job, None)
            progress.finished(result)
    assert "ch/c.md:4: ValueError: no" in progress.console.file.getvalue()


def test_summary_names_status_cache_and_gpu_rule():
    lines = summary_lines(results())
    assert any("ch/b.md" in line and "cached" in line and "calls d2l.try_gpu" in line for line in lines)
    assert lines[-1] == "3 notebooks: 1 ran ok, 1 cached, 1 failed"


def test_report_json_and_junit(tmp_path):
    write_report(tmp_path / "report.json", "pytorch", results(), {"device": "cpu"})
    report = json.loads((tmp_path / "report.json").read_text())
    assert [n["status"] for n in report["notebooks"]] == ["ok", "ok", "failed"] and report["notebooks"][1]["cached"]
    write_junit(tmp_path / "junit.xml", results())
    text = (tmp_path / "junit.xml").read_text()
    assert 'tests="3" failures="1"' in text and 'message="ch/c.md:4: ValueError: no"' in text


def test_reports_of_a_stopped_eval_name_interrupted_and_not_run(tmp_path):
    write_report(tmp_path / "report.json", "pytorch", stopped_results(), {"device": "cpu"})
    report = json.loads((tmp_path / "report.json").read_text())
    assert [n["status"] for n in report["notebooks"]] == ["ok", "ok", "failed", "interrupted", "not run"]
    assert report["notebooks"][2]["failure"] == "error"
    write_junit(tmp_path / "junit.xml", stopped_results())
    text = (tmp_path / "junit.xml").read_text()
    assert 'tests="5" failures="1" skipped="2"' in text and '<skipped message="interrupted"' in text
    assert summary_lines(stopped_results())[-1] == "5 notebooks: 1 ran ok, 1 cached, 1 failed, 1 interrupted, 1 not run"


def test_environment_gets_the_kernelspec_notebooks_name(tmp_path):
    config = config_with(tmp_path, "[eval-pytorch]\nrequirements = torch==2.13.0\nenv = TF_CPP_MIN_LOG_LEVEL = 1\n")
    folder = fake_environment(config)
    ensure_environment(config, "pytorch", log=lambda _: None)
    spec = json.loads((folder / "share/jupyter/kernels/d2l-pytorch/kernel.json").read_text())
    assert spec["argv"][0] == str(folder / "bin/python")
    assert spec["env"] == {"PYTHONPATH": str(config.root), "TF_CPP_MIN_LOG_LEVEL": "1"}
