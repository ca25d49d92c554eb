"""Odd files and settings: each is one line (or a warning) instead of a hang or a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run, write_book

CONFIG = """\
[build]
index = index
notebooks = ch/*.md
tabs = pytorch

[eval]
timeout = 60
"""
CELL = "# A\n\n```{.python .input}\nprint('a')\n```\n"


def d2lbuild(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The command in a process of its own (a hang fails the test instead of blocking the suite)."""
    return subprocess.run([sys.executable, "-m", "d2lbuild", "--root", str(root), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_where_the_cache_file_goes_is_discarded_with_a_warning(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG)
    (root / "build/eval/pytorch").mkdir(parents=True)
    os.mkfifo(root / "build/eval/pytorch/cache.json")
    result = d2lbuild(root, "eval", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "build/eval/pytorch/cache.json: warning: cannot read (not a regular file); discarded and rebuilt" in result.stdout
    assert (root / "build/eval/pytorch/cache.json").is_file()


def test_resources_naming_the_whole_book_skip_build_and_cache(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG.replace("tabs = pytorch", "tabs = pytorch\nresources = ."))
    assert run(root, "eval").exit_code == 0
    second = run(root, "eval")
    assert second.exit_code == 0 and "1 notebooks: 0 ran ok, 1 cached, 0 failed" in second.stdout
    assert not (root / "build/eval/pytorch/build").exists()
    assert (root / "build/eval/pytorch/ch/a.md").is_file()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_timeout_that_is_not_a_finite_number_is_a_config_error(book, value):
    root = book({"a.md": "# A\n"}, config=f"[build]\nindex = index\ntabs = pytorch\n\n[eval]\ntimeout = {value}\n")
    result = run(root, "eval")
    assert (result.exit_code, result.stderr) == (1, f"config.ini:6: [eval] timeout: {value!r} is not a finite number of seconds\n")


def test_a_timeout_with_a_fraction_runs(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG.replace("timeout = 60", "timeout = 2.5"))
    result = run(root, "eval", "--cold")
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", ["exclusions = [z-a].md", "non-notebooks = ch/[z-a]"])
def test_a_bad_glob_in_build_is_a_config_error(book, key):
    root = book({"a.md": "# A\n"}, config=f"[build]\nindex = index\ntabs = pytorch\n{key}\n")
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("config.ini:4: [build] ") and "is not a valid glob" in result.stderr


@pytest.mark.parametrize("key", ["timeouts =\n    [z-a] = 5", "gpu_sections = [z-a]"])
def test_a_bad_glob_in_eval_is_a_config_error(book, key):
    root = book({"a.md": "# A\n"}, config=f"[build]\nindex = index\ntabs = pytorch\n\n[eval]\n{key}\n")
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("config.ini:6: [eval] ") and "'[z-a]' is not a valid glob" in result.stderr


DEEP = "+".join(["1"] * 100_000)


def test_a_very_deep_expression_in_a_saved_block_is_one_line(book):
    root = book({"a.md": f"# A\n\n```{{.python .input}}\ndef f():  #@save\n    return {DEEP}\n```\n"}, tabs="pytorch")
    for command in ("extract", "notebooks", "check"):
        result = run(root, command)
        assert (result.exit_code, result.stderr) == (1, "a.md:4: #@save is used, but the cell is nested too deeply for Python's parser\n")


def test_a_very_deep_expression_elsewhere_builds(book):
    config = "[build]\nindex = index\ntabs = pytorch\n\n[library-pytorch]\nsimple_alias = ones\n"
    files = {"a.md": f"# A\n\n```{{.python .input}}\nx = d2l.ones(3)\ny = {DEEP}\n```\n", "b.md": f"# B\n\n```{{.python .input}}\nfrom d2l import torch as d2l\nz = {DEEP}\n```\n"}
    root = book(files, config=config)
    for command in ("extract", "notebooks"):
        result = run(root, command)
        assert result.exit_code == 0, result.stderr
    from d2lbuild.config import load_config
    from d2lbuild.evaluate import EvalOptions, prepare_tab

    plan, _, _ = prepare_tab(load_config(root), "pytorch", EvalOptions(workers=1), log=lambda line: None)
    assert [job.chapter for job in plan.jobs] == ["index.md"]  # the kernel would never answer the others
    failed = {result.job.chapter: result.reason for result in plan.cached}
    assert failed == {chapter: f"{chapter}:4: the cell is nested too deeply for Python's parser; the kernel cannot run it" for chapter in ("a.md", "b.md")}


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_chapter_name_that_is_not_utf8_is_one_line(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG)
    with open(os.path.join(os.fsencode(root), b"ch/b\xff.md"), "w") as handle:
        handle.write("# B\n")
    for command in ("extract", "notebooks", "check", "eval"):
        result = run(root, command)
        assert (result.exit_code, result.stderr) == (1, "ch/b\\xff.md: the file name is not UTF-8; rename the file\n"), command


def test_a_chapter_name_with_a_line_break_is_one_line(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG)
    (root / "ch/b\nc.md").write_text("# B\n")
    result = run(root, "notebooks")
    assert (result.exit_code, result.stderr) == (1, "ch/b\\nc.md: the file name holds a line break; rename the file\n")


@pytest.mark.parametrize("cell, what", [({"id": "c", "cell_type": "code", "metadata": {}}, "has no source"), ({"id": "c", "cell_type": "code", "metadata": {}, "source": 5}, "has a source that is not text")])
def test_a_notebook_chapter_with_a_broken_cell_is_one_line(book, cell, what):
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"id": "m", "cell_type": "markdown", "metadata": {}, "source": "# N"}, cell]}
    root = book({"index.md": "# Book\n\n```toc\nn\n```\n", "n.ipynb": json.dumps(notebook)}, tabs="pytorch")
    result = run(root, "notebooks")
    assert (result.exit_code, result.stderr) == (1, f"n.ipynb:cell2:1: the cell {what}; fix the notebook\n")


def test_a_python_without_ipykernel_is_one_line(tmp_path):
    python = tmp_path / "bare-python"
    python.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    python.chmod(0o755)
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG + f"python = {python}\n")
    result = run(root, "eval")
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"config.ini:8: [eval] python: {python} lacks ipykernel")


def test_a_stop_before_any_notebook_ran_says_that_no_report_was_written(tmp_path, monkeypatch):
    from d2lbuild.errors import Stopped

    def stopped(*args, **kwargs):
        raise Stopped(15)

    monkeypatch.setattr("d2lbuild.evaluate.prepare_tab", stopped)
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG)
    result = run(root, "eval")
    assert result.exit_code == 143
    assert "stopped by SIGTERM: stopped before any notebook ran; no report written" in result.stderr
    assert not (root / "build/eval/pytorch/report.json").exists()


def test_an_unknown_key_warns_once_at_its_line(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": CELL}, config=CONFIG + "timout = 5\n\n[deploy]\nanything = 1\n")
    result = run(root, "eval")
    assert result.exit_code == 0
    output = result.stdout + result.stderr
    assert output.count("unknown key 'timout'") == 1
    assert "config.ini:8: warning: unknown key 'timout' in [eval]; it is ignored (did you mean 'timeout'?)" in output
    assert "anything" not in output  # sections of d2lbook's own templates are not d2lbuild's to check


def test_a_chapter_deleted_during_an_eval_leaves_a_full_report(tmp_path):
    deletes = (
        "# A\n\n```{.python .input}\nimport pathlib\nroot = pathlib.Path('../../../..').resolve()\n"
        "(root / 'ch/b.md').unlink()\n(root / 'build/notebooks/pytorch/ch/b.ipynb').unlink()\n```\n"
    )
    root = write_book(tmp_path / "book", {"ch/a.md": deletes, "ch/b.md": CELL}, config=CONFIG)
    result = run(root, "eval", "-j", "1")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads((root / "build/eval/pytorch/report.json").read_text())
    assert [entry["status"] for entry in report["notebooks"]] == ["ok", "ok"]
    again = run(root, "eval", "-j", "1")
    assert again.exit_code == 0 and not (root / "build/eval/pytorch/ch/b.ipynb").exists()
