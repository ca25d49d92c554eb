"""KernelSession: one kernel's life, its failures typed and carried into the result, each from a real kernel."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from d2lbuild.runner import CellTimeout, KernelDied, KernelLauncher, KernelSession, KernelStartError, socket_folder
from d2lbuild.schedule import Failure, Job, Status


def notebook_text(*cells: str) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    return nbformat.writes(notebook)


def run_in_session(tmp_path: Path, python: str, source: str, timeout: float = 30):
    """Start a cold kernel of ``python``, run ``source`` in it, stop it; the result and the error types seen."""
    sockets = socket_folder()
    job = Job("pytorch", "ch/x.md", "build/notebooks/pytorch/ch/x.ipynb", "build/eval/pytorch/ch/x.ipynb", timeout, False, "")

    async def scenario():
        session = KernelSession(KernelLauncher("pytorch", python, {}, str(tmp_path), sockets), 0)
        try:
            await session.start()
        except KernelStartError as err:
            return None, err
        try:
            result, _ = await session.run(job, tmp_path, str(tmp_path), "", {"library": "d2l/torch.py"}, source)
        finally:
            await session.stop(graceful=False)
        return result, None

    try:
        return asyncio.run(scenario())
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def test_a_kernel_that_cannot_be_launched_is_a_start_error(tmp_path):
    result, error = run_in_session(tmp_path, str(tmp_path / "no-such-python"), notebook_text("1"))
    assert result is None and isinstance(error, KernelStartError) and error.failure is Failure.NO_KERNEL


def test_a_kernel_that_dies_at_start_is_no_kernel(tmp_path):
    python = tmp_path / "dies"
    python.write_text("#!/bin/sh\nexit 3\n")
    python.chmod(0o755)
    result, error = run_in_session(tmp_path, str(python), notebook_text("1"))
    assert result is None and isinstance(error, KernelStartError) and error.failure is Failure.NO_KERNEL
    assert "died before replying" in str(error)


def test_a_kernel_that_dies_in_a_cell_is_died_with_its_status(tmp_path):
    result, _ = run_in_session(tmp_path, sys.executable, notebook_text("x = 1", "import os\nos._exit(3)"))
    assert result.status is Status.FAILED and result.failure is Failure.DIED
    assert "the kernel died: it exited with status 3" in result.reason


def test_a_cell_past_its_timeout_is_timed_out(tmp_path):
    result, _ = run_in_session(tmp_path, sys.executable, notebook_text("import time\ntime.sleep(30)"), timeout=1)
    assert result.status is Status.FAILED and result.failure is Failure.TIMED_OUT
    assert result.reason == "ch/x.md: cell timed out after 1 s"


def test_the_typed_errors_name_their_report_kinds():
    assert (KernelStartError.failure, KernelDied.failure, CellTimeout.failure) == (Failure.NO_KERNEL, Failure.DIED, Failure.TIMED_OUT)
    assert json.dumps([kind.value for kind in (Failure.NO_KERNEL, Failure.DIED, Failure.TIMED_OUT)]) == '["no kernel", "died", "timed out"]'


@pytest.mark.parametrize("private", ["_handle_kernel_info_reply", "client.kc ="])
def test_the_runner_uses_only_public_client_calls(private):
    source = (Path(__file__).resolve().parents[1] / "d2lbuild" / "runner.py").read_text()
    assert private not in source
