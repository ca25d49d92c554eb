"""What a book declares about its environments and resources: python = checks, -r FILE requirements, the resources'
digest and missing resources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run, write_book

from d2lbuild.config import load_config
from d2lbuild.envs import _stamp, ensure_environment, pip_arguments
from d2lbuild.errors import BuildError
from d2lbuild.evaluate import EvalOptions, evaluate
from d2lbuild.report import PlainProgress


def book_with(tmp_path: Path, eval_section: str) -> Path:
    return write_book(tmp_path / "b", {"a.md": "# A\n"}, config=f"[build]\ntabs = pytorch\n\n{eval_section}")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """An interpreter without ipykernel or any framework: a venv without pip."""
    folder = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return str(folder / "bin/python")


def test_python_without_ipykernel_or_framework_fails_in_one_line(tmp_path, bare_python):
    root = book_with(tmp_path, f"[eval]\ntimeout = 30\n\n[eval-pytorch]\npython = {bare_python}\n")
    expected = f"config.ini:8: [eval-pytorch] python: {bare_python} lacks ipykernel and torch (the kernels need them)"
    for command in (["env"], ["eval"]):
        result = run(root, *command)
        assert result.exit_code == 1 and result.stderr.strip() == expected
    # --force starts a warm template early, a process of its own: its stderr is the command's, and it never starts
    forced = subprocess.run([sys.executable, "-m", "d2lbuild", "--root", str(root), "eval", "--force"], capture_output=True, text=True)
    assert forced.returncode == 1 and forced.stderr.strip() == expected


def test_python_that_is_not_python_names_the_config_line(tmp_path):
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho nope >&2\nexit 3\n")
    fake.chmod(0o755)
    root = book_with(tmp_path, f"[eval]\npython = {fake}\n")
    with pytest.raises(BuildError) as caught:
        ensure_environment(load_config(root), "pytorch", log=lambda _: None)
    assert str(caught.value) == f"config.ini:5: [eval] python: {fake} is not a working Python interpreter: nope"


def test_requirements_beside_python_are_a_warning(tmp_path, monkeypatch):
    (tmp_path / "site/torch").mkdir(parents=True)
    (tmp_path / "site/torch/__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    root = book_with(tmp_path, f"[eval-pytorch]\nrequirements = torch\npython = {sys.executable}\n")
    logged: list[str] = []
    environment = ensure_environment(load_config(root), "pytorch", log=logged.append)
    assert environment.python == sys.executable
    assert logged == [f"config.ini:5: warning: [eval-pytorch] requirements are ignored: [eval-pytorch] python = {sys.executable} is used as it is"]


def test_requirement_files_are_read_relative_to_the_book_and_keyed_by_content(tmp_path):
    root = book_with(tmp_path, "[eval-pytorch]\nrequirements =\n    -r requirements/torch.txt\n    pandas\n")
    (root / "requirements").mkdir()
    (root / "requirements/torch.txt").write_text("torch==2.13.0\n-c pins.txt\n")
    (root / "requirements/pins.txt").write_text("numpy<3\n")
    config = load_config(root)
    assert pip_arguments(config, "pytorch") == ["-r", str(root / "requirements/torch.txt"), "pandas"]
    stamp = _stamp(config, "pytorch")
    assert set(stamp["files"]) == {"requirements/torch.txt", "requirements/pins.txt"}
    (root / "requirements/pins.txt").write_text("numpy<2\n")  # a file named by a named file changes the key too
    assert _stamp(config, "pytorch") != stamp
    (root / "requirements/torch.txt").unlink()
    with pytest.raises(BuildError, match=r"^config.ini:5: \[eval-pytorch\] requirements: -r requirements/torch.txt: no such file"):
        _stamp(config, "pytorch")


LIBRARY = "# Lib\n:label:`sec_lib`\n\n```{.python .input}\ndef f():  #@save\n    return 1\n\ndef g():  #@save\n    return 2\n```\n"
USES_F = "# F\n\n```{.python .input}\nfrom d2l import torch as d2l\nprint(d2l.f())\n```\n"
PLAIN = "# P\n\n```{.python .input}\nprint(open('../data/x.txt').read())\n```\n"
RESOURCES_CONFIG = """\
[build]
index = index
notebooks = **/*.md
tabs = pytorch
resources = d2l/ data/ gone/ setup.py

[eval]
timeout = 30
"""


def statuses(root: Path) -> tuple[dict[str, str], list[str]]:
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=2), lambda total: PlainProgress(total, lines.append), log=lines.append)
    return {r.job.chapter: r.status.value for r in outcome.results}, lines


def test_library_files_stay_out_of_the_resources_digest(tmp_path):
    root = write_book(tmp_path / "book", {"ch/lib.md": LIBRARY, "ch/f.md": USES_F, "ch/plain.md": PLAIN}, config=RESOURCES_CONFIG)
    (root / "data").mkdir()
    (root / "data/x.txt").write_text("one\n")
    (root / "setup.py").write_text("# setup\n")
    first, lines = statuses(root)
    assert set(first.values()) == {"ok"}
    assert "config.ini:5: warning: [build] resources: gone/ does not exist; it is skipped" in lines
    (root / "ch/lib.md").write_text(LIBRARY.replace("return 2", "return 3"))  # g changes: only its own section reruns
    second, _ = statuses(root)
    assert {chapter for chapter, status in second.items() if status == "ok"} == {"ch/lib.md"}
    assert json.loads((root / "build/eval/pytorch/.resources.json").read_text())["data"]["files"][0] == "d2l/__init__.py"  # still copied
    (root / "setup.py").write_text("# setup, edited\n")  # any other resource keeps its digest: everything reruns
    third, _ = statuses(root)
    assert set(third.values()) == {"ok"}
