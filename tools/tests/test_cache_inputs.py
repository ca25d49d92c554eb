"""What is in the eval cache key besides the notebook: the inherited environment, isort's view of the book,
and the part of d2lbuild's own source that shapes execution."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import write_book

import d2lbuild.execution_digest as execution
from d2lbuild.config import load_config
from d2lbuild.evaluate import EvalOptions, evaluate, prepare_tab
from d2lbuild.formatting import isort_view
from d2lbuild.inherited import counted, counted_variables, inherited
from d2lbuild.pipeline import extract
from d2lbuild.report import PlainProgress

CONFIG = "[build]\nindex = index\nnotebooks = ch/*.md\ntabs = pytorch\n\n[eval]\ntimeout = 60\n"
PEEK = "# Peek\n\n```{.python .input}\nimport os\nassert 'UNRELATED_SETTING' not in os.environ\nprint(os.environ.get('PYTHONHASHSEED'))\n```\n"


def test_the_execution_modules_are_those_that_shape_a_run():
    assert execution.EXECUTION_MODULES == (
        "bytecode", "cache", "envs", "evaluate", "inherited", "reaper", "runner", "schedule", "tracemap", "warm",
        "warm_template", "workspace",
    )
    assert all((execution.PACKAGE / f"{name}.py").is_file() for name in execution.EXECUTION_MODULES)


def test_help_text_leaves_the_tool_digest_and_the_runner_changes_it(tmp_path, monkeypatch):
    package = tmp_path / "d2lbuild"
    shutil.copytree(execution.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(execution, "PACKAGE", package)
    execution.execution_digest.cache_clear()
    try:
        before = execution.execution_digest()
        cli = package / "cli.py"
        cli.write_text(cli.read_text().replace('"""', '"""Edited help. ', 1))
        (package / "report.py").write_text((package / "report.py").read_text() + "\n# another line\n")
        execution.execution_digest.cache_clear()
        assert execution.execution_digest() == before
        (package / "runner.py").write_text((package / "runner.py").read_text() + "\n# another line\n")
        execution.execution_digest.cache_clear()
        assert execution.execution_digest() != before
    finally:
        execution.execution_digest.cache_clear()


@pytest.mark.parametrize("name", ["PYTHONHASHSEED", "PYTHONPATH", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
                                  "TF_CPP_MIN_LOG_LEVEL", "MXNET_ENGINE_TYPE", "LANG", "LC_ALL", "LD_LIBRARY_PATH"])
def test_variables_that_can_change_a_result_count(name):
    assert counted(name)


def test_the_kernel_environment_keeps_what_is_needed_and_drops_the_rest():
    caller = {"PATH": "/bin", "HOME": "/h", "PYTHONHASHSEED": "3", "UNRELATED_SETTING": "x", "SSH_AUTH_SOCK": "/s"}
    assert inherited(caller) == {"PATH": "/bin", "HOME": "/h", "PYTHONHASHSEED": "3"}
    assert counted_variables(caller) == {"PYTHONHASHSEED": "3"}


@pytest.fixture(scope="module")
def peeked(tmp_path_factory):
    """A book evaluated once with an unrelated variable set in the caller's environment."""
    root = write_book(tmp_path_factory.mktemp("env") / "book", {"ch/peek.md": PEEK}, config=CONFIG)
    patch = pytest.MonkeyPatch()
    patch.setenv("UNRELATED_SETTING", "x")
    patch.setenv("PYTHONHASHSEED", "1")
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=1), lambda total: PlainProgress(total, lines.append), log=lines.append)
    assert [r.status.value for r in outcome.results] == ["ok"], lines  # the kernel did not see UNRELATED_SETTING
    yield root
    patch.undo()


def would_run(root: Path) -> set[str]:
    plan, _, _ = prepare_tab(load_config(root), "pytorch", EvalOptions(workers=1), log=lambda line: None)
    return {job.chapter for job in plan.jobs}


def test_a_counted_variable_makes_a_cached_notebook_run_again(peeked, monkeypatch):
    assert would_run(peeked) == set()
    monkeypatch.setenv("PYTHONHASHSEED", "2")
    assert would_run(peeked) == {"ch/peek.md"}


def test_an_uncounted_variable_keeps_the_cached_result(peeked, monkeypatch):
    monkeypatch.setenv("UNRELATED_SETTING", "y")
    monkeypatch.delenv("HOME", raising=False)
    assert would_run(peeked) == set()


LIBRARY = "# Ch\n\n```{.python .input}\n#@save\nimport os\nimport zzmod\nimport aamod\n```\n"


def library_imports(root: Path) -> list[str]:
    return [line for line in (root / "d2l/torch.py").read_text().splitlines() if line.startswith("import ") and line != "import sys"]


def test_a_root_folder_that_isort_takes_for_first_party_reorders_the_library(tmp_path):
    root = write_book(tmp_path / "book", {"ch/lib.md": LIBRARY}, config=CONFIG)
    extract(root)
    assert library_imports(root) == ["import os", "import aamod", "import zzmod"]
    (root / "aamod").mkdir()  # now a first-party package for isort: sorted after the third-party ones
    extract(root)
    assert library_imports(root) == ["import os", "import zzmod", "import aamod"]


def test_isort_view_names_module_folders_and_files_and_settings(tmp_path):
    root = tmp_path / "book"
    root.mkdir()
    (root / ".git").mkdir()
    before = isort_view(root)
    (root / "README.md").write_text("text\n")
    (root / "build").mkdir()
    (root / "d2l").mkdir()
    assert isort_view(root, frozenset({"d2l"})) == before  # written by d2lbuild itself
    assert isort_view(root) != before
    (root / "helpers.py").write_text("")
    with_module = isort_view(root)
    assert with_module != before
    (root / "pyproject.toml").write_text("[tool.isort]\nknown_first_party = ['zzmod']\n")
    assert isort_view(root) != with_module
