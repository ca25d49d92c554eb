"""SIGINT, SIGTERM and SIGHUP in the commands other than eval: the handler sets a flag, the command stops at its
next step with one line and exit 128 + the signal, and no file is left half-written."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_book

CONFIG = "[project]\nname = b\n\n[build]\nindex = index\nnotebooks = ch/*.md\ntabs = pytorch, mxnet\n"
CHAPTER = "# {name}\n\n```{{.python .input}}\ndef f_{name}(x):  #@save\n    return x\n```\n"
# Runs d2lbuild after wrapping (or replacing) one function so that its first call sends the process a signal:
# the signal comes at a known point of the command, as a real one would.
DRIVER = """\
import importlib, os, sys
module_name, attribute, mode, number = sys.argv[1:5]
module = importlib.import_module(module_name)
original = getattr(module, attribute)
sent = []

def first_call(*args, **kwargs):
    if not sent:
        sent.append(1)
        os.kill(os.getpid(), int(number))
    return original(*args, **kwargs) if mode == "wrap" else None

setattr(module, attribute, first_call)
from d2lbuild.cli import main
main(sys.argv[5:], prog_name="d2lbuild")
"""


def book(tmp_path: Path, config: str = CONFIG) -> Path:
    return write_book(tmp_path / "book", {f"ch/{name}.md": CHAPTER.format(name=name) for name in ("a", "b", "c")}, config=config)


def stopped(root: Path, target: str, number: int, *args: str, mode: str = "wrap") -> subprocess.CompletedProcess:
    module, attribute = target.rsplit(".", 1)
    command = [sys.executable, "-c", DRIVER, module, attribute, mode, str(number), "--root", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def assert_stopped(result: subprocess.CompletedProcess, number: int, root: Path) -> None:
    name = signal.Signals(number).name
    assert (result.returncode, result.stderr.splitlines()[-1:]) == (128 + number, [f"stopped by {name}"]), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not [path for path in root.rglob("*") if ".tmp" in path.name]  # no half-written file


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_extract_stops_before_writing_any_library(tmp_path, number):
    root = book(tmp_path)
    result = stopped(root, "d2lbuild.pipeline.build_library", number, "extract")
    assert_stopped(result, number, root)
    assert not (root / "d2l").exists()


@pytest.mark.parametrize("command", ["build", "notebooks"])
def test_notebooks_stop_between_chapters_before_writing_any(tmp_path, command):
    root = book(tmp_path)
    result = stopped(root, "d2lbuild.pipeline.notebook_for", signal.SIGTERM, command)
    assert_stopped(result, signal.SIGTERM, root)
    assert not list((root / "build").rglob("*.ipynb"))


def test_the_site_stops_between_pages(tmp_path):
    root = book(tmp_path)
    result = stopped(root, "d2lbuild.html.site.render_page", signal.SIGHUP, "html", "--site-only")
    assert_stopped(result, signal.SIGHUP, root)
    pages = [path.name for path in (root / "build/site").rglob("*.md")] if (root / "build/site").exists() else []
    assert len(pages) <= 1  # the page being made when the signal came, at most


def test_the_pdf_stops_between_tabs(tmp_path):
    root = book(tmp_path)
    result = stopped(root, "d2lbuild.pdf.build.build_tab", signal.SIGTERM, "pdf", mode="replace")
    if "TeX is not complete" in result.stderr:
        pytest.skip(result.stderr.strip())
    assert_stopped(result, signal.SIGTERM, root)


def test_edit_stops_before_writing_the_notebook(tmp_path):
    root = book(tmp_path)
    result = stopped(root, "d2lbuild.edit.export", signal.SIGINT, "edit", "ch/a.md")
    assert_stopped(result, signal.SIGINT, root)
    assert not (root / "build/edit").exists()


def test_env_stops_before_recording_an_environment(tmp_path):
    root = book(tmp_path, CONFIG + "\n[eval-pytorch]\nrequirements = somepackage\n")
    result = stopped(root, "d2lbuild.envs.install_environment", signal.SIGTERM, "env", "--tab", "pytorch", mode="replace")
    assert_stopped(result, signal.SIGTERM, root)
    assert not (root / "build/envs/pytorch/d2lbuild-env.json").exists()


def test_a_signal_during_the_last_step_still_exits_with_its_status(tmp_path):
    root = book(tmp_path)
    result = stopped(root, "d2lbuild.sync.edited_notebooks", signal.SIGTERM, "sync")
    assert_stopped(result, signal.SIGTERM, root)
