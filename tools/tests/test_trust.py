"""Trustworthy builds: nothing outside build/ is touched, a cached result is never stale, errors are one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run, write_book

from d2lbuild.cache import EvalCache
from d2lbuild.config import load_config
from d2lbuild.evaluate import EvalOptions, evaluate, prepare_tab
from d2lbuild.hashing import digest
from d2lbuild.report import REPORT_STORE, PlainProgress

CONFIG = """\
[build]
index = index
notebooks = ch/*.md
tabs = pytorch
resources = data/

[eval]
timeout = 30
env =
    FLAG = 1
"""

LIBRARY = """\
# Library

```{.python .input}
def double(x):  #@save
    return 2 * x

def triple(x):  #@save
    return 3 * x
```
"""

CHAPTERS = {
    "ch/lib.md": LIBRARY,
    "ch/env.md": "# Env\n\n```{.python .input}\nimport os\nassert os.environ['FLAG'] == '1'\n```\n",
    "ch/slow.md": "# Slow\n\n```{.python .input}\nimport time\ntime.sleep(0.5)\n```\n",
    "ch/from.md": "# From\n\n```{.python .input}\nfrom d2l.torch import double\nassert double(2) == 4\n```\n",
    "ch/alias.md": "# Alias\n\n```{.python .input}\nimport d2l.torch as lib\nassert lib.triple(1) == 3\n```\n",
    "ch/package.md": "# Package\n\n```{.python .input}\nimport fakepkg\nassert fakepkg.VALUE == 1\n```\n",
    "ch/data.md": "# Data\n\n```{.python .input}\nopen('../data/out.txt', 'w').write('written by a notebook')\nprint(open('../data/words.txt').read())\n```\n",
}


def install_fake_package(site: Path, version: int) -> None:
    """What ``pip install fakepkg==VERSION`` leaves in a site folder."""
    for old in site.glob("fakepkg-*.dist-info"):
        (old / "METADATA").unlink()
        old.rmdir()
    (site / "fakepkg.py").write_text(f"VALUE = {version}\n")
    (site / f"fakepkg-{version}.0.dist-info").mkdir()
    (site / f"fakepkg-{version}.0.dist-info/METADATA").write_text(f"Name: fakepkg\nVersion: {version}.0\n")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A book evaluated once, every notebook ok; each test edits it, looks at the plan, and undoes the edit."""
    base = tmp_path_factory.mktemp("trust")
    site = base / "site"
    site.mkdir()
    install_fake_package(site, 1)
    root = write_book(base / "book", CHAPTERS, config=CONFIG)
    (root / "data").mkdir()
    (root / "data/words.txt").write_text("hello\n")
    patch = pytest.MonkeyPatch()
    patch.setenv("PYTHONPATH", str(site))
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=2), lambda total: PlainProgress(total, lines.append), log=lines.append)
    assert {r.job.chapter: r.status.value for r in outcome.results} == dict.fromkeys(CHAPTERS, "ok"), lines
    yield root, site
    patch.undo()


def would_run(root: Path) -> set[str]:
    """The chapters a cached eval would run now."""
    plan, _, _ = prepare_tab(load_config(root), "pytorch", EvalOptions(workers=2), log=lambda line: None)
    return {job.chapter for job in plan.jobs}


@pytest.fixture
def edit(evaluated):
    """Change a file of the book for one test; it is restored afterwards."""
    root, _ = evaluated
    saved: dict[Path, str] = {}

    def change(relpath: str, old: str, new: str) -> None:
        path = root / relpath
        saved.setdefault(path, path.read_text())
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new))

    yield change
    for path, text in saved.items():
        path.write_text(text)
    assert would_run(root) == set()


def test_nothing_runs_when_nothing_changed(evaluated):
    root, _ = evaluated
    assert would_run(root) == set()


def test_env_lines_are_in_the_key(evaluated, edit):
    edit("config.ini", "FLAG = 1", "FLAG = 2")
    assert "ch/env.md" in would_run(evaluated[0])


def test_timeouts_are_in_the_key(evaluated, edit):
    edit("config.ini", "timeout = 30\n", "timeout = 30\ntimeouts =\n    ch/slow.md = 0.1\n")
    assert would_run(evaluated[0]) == {"ch/slow.md"}


def test_names_taken_by_from_import_are_in_the_key(evaluated, edit):
    edit("ch/lib.md", "return 2 * x", "return 5 * x")
    assert would_run(evaluated[0]) == {"ch/lib.md", "ch/from.md"}


def test_names_reached_through_an_import_alias_are_in_the_key(evaluated, edit):
    edit("ch/lib.md", "return 3 * x", "return 4 * x")
    assert would_run(evaluated[0]) == {"ch/lib.md", "ch/alias.md"}


def test_code_the_import_runs_is_in_the_key(evaluated, edit):
    edit("ch/lib.md", "def triple(x):  #@save", "def triple(x, scale=1 / 0):  #@save")  # a default value fails at import
    assert would_run(evaluated[0]) == {"ch/lib.md", "ch/from.md", "ch/alias.md"}


def test_packages_installed_after_the_environment_was_made_are_in_the_key(evaluated):
    root, site = evaluated
    install_fake_package(site, 2)
    try:
        assert would_run(root) == set(CHAPTERS)
    finally:
        install_fake_package(site, 1)
    assert would_run(root) == set()


def test_the_tools_own_source_is_in_the_key(evaluated, monkeypatch):
    monkeypatch.setattr("d2lbuild.evaluate.execution_digest", lambda: "another d2lbuild")
    assert would_run(evaluated[0]) == set(CHAPTERS)


def test_resources_are_real_copies_that_notebooks_may_write(evaluated):
    root, _ = evaluated
    assert not (root / "data/out.txt").exists()  # the notebook wrote into its copy, not into the repository
    copy = root / "build/eval/pytorch/data"
    assert not copy.is_symlink() and (copy / "out.txt").read_text() == "written by a notebook"
    assert would_run(root) == set()  # and the write does not invalidate the cache


def test_a_changed_resource_is_copied_again(evaluated, edit):
    root, _ = evaluated
    edit("data/words.txt", "hello", "bye")
    assert would_run(root) == set(CHAPTERS)
    assert (root / "build/eval/pytorch/data/words.txt").read_text() == "bye\n"


def test_an_absolute_resource_is_an_error_and_survives(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "keep.txt").write_text("precious")
    config = CONFIG.replace("resources = data/", f"resources = data/ {shared}/")
    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n"}, config=config)
    result = run(root, "eval")
    assert result.exit_code == 1
    assert result.stderr == f"config.ini:5: [build] resources: {shared}/ is outside the book's root; name paths relative to the folder of config.ini\n"
    assert (shared / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize("key, value", [("resources", "../outside"), ("notebooks", "/etc/*.md"), ("index", "../index")])
def test_config_paths_leaving_the_root_are_errors(book, key, value):
    root = book({"a.md": "# A\n"}, config=f"[build]\nindex = index\n{key} = {value}\ntabs = pytorch\n")
    result = run(root, "extract")
    assert result.exit_code == 1 and f"[build] {key}: {value} is outside the book's root" in result.stderr


@pytest.mark.parametrize("entry", ["../../secret", "/etc/passwd", "ch/../../secret"])
def test_toc_entries_leaving_the_root_are_errors(book, entry):
    root = book({"index.md": f"# Book\n\n```toc\na\n{entry}\n```\n", "a.md": "# A\n"})
    result = run(root, "extract")
    assert result.exit_code == 1
    assert result.stderr == f"index.md:5: toc entry {entry!r} leaves the book's root; name chapters inside it\n"


@pytest.mark.parametrize("entry", ["../../secret", "/etc/passwd"])
def test_toc_entries_of_a_nested_file_leaving_the_root_are_errors(book, entry):
    files = {"index.md": "# Book\n\n```toc\nch/index\n```\n", "ch/index.md": f"# Ch\n\n```toc\n../a\n{entry}\n```\n", "a.md": "# A\n"}
    result = run(book(files), "extract")
    assert result.exit_code == 1
    assert result.stderr == f"ch/index.md:5: toc entry {entry!r} leaves the book's root; name chapters inside it\n"


def test_build_being_a_file_is_one_line(book):
    root = book({"a.md": "# A\n"})
    (root / "build").write_text("not a folder")
    for command in ("extract", "notebooks", "eval"):
        result = run(root, command)
        assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1 and result.stderr.startswith("build"), result.stderr


def test_a_library_folder_that_cannot_be_written_is_one_line(book):
    root = book({"a.md": "# A\n\n```{.python .input}\ndef f():  #@save\n    pass\n```\n"}, tabs="pytorch")
    (root / "d2l").write_text("a file where the library folder should be")
    result = run(root, "extract")
    assert result.exit_code == 1 and result.stderr.startswith("d2l/torch.py: ") and len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_library_folder_is_one_line(book):
    root = book({"a.md": "# A\n\n```{.python .input}\ndef f():  #@save\n    pass\n```\n"}, tabs="pytorch")
    (root / "d2l").mkdir()
    (root / "d2l").chmod(0o555)
    try:
        result = run(root, "extract")
    finally:
        (root / "d2l").chmod(0o755)
    assert result.exit_code == 1 and result.stderr.startswith("d2l") and "permission denied" in result.stderr


def test_an_unreadable_chapter_is_one_line(book, monkeypatch):
    root = book({"a.md": "# A\n"})
    original = Path.read_bytes

    def read_bytes(self):
        if self.name == "a.md":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = run(root, "extract")
    assert (result.exit_code, result.stderr) == (1, "a.md: permission denied\n")


def test_a_python_that_is_not_an_interpreter_is_one_line(book):
    root = book({"a.md": "# A\n"}, config="[build]\nindex = index\ntabs = pytorch\n\n[eval]\npython = /etc/passwd\n")
    result = run(root, "eval")
    assert result.exit_code == 1
    assert result.stderr.startswith("config.ini:6: [eval] python: /etc/passwd cannot be run") and len(result.stderr.splitlines()) == 1


def test_a_cache_file_of_the_wrong_shape_is_discarded_with_a_warning(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n\n```{.python .input}\nx = 1\n```\n"}, config=CONFIG)
    (root / "build/eval/pytorch/ch").mkdir(parents=True)
    (root / "build/eval/pytorch/ch/a.ipynb").write_text("{}")
    cache = root / "build/eval/pytorch/cache.json"
    for text, warning in [
        (json.dumps({"kind": "eval-cache", "version": 1, "data": {"ch/a.md": "not an entry"}}), "build/eval/pytorch/cache.json: warning: entry 'ch/a.md' is not one d2lbuild wrote; discarded"),
        ("[]", "build/eval/pytorch/cache.json: warning: not a state file d2lbuild wrote; discarded and rebuilt"),
    ]:
        cache.write_text(text)
        lines: list[str] = []
        plan, _, _ = prepare_tab(load_config(root), "pytorch", EvalOptions(workers=1), log=lines.append)
        assert warning in lines and [job.chapter for job in plan.jobs] == ["ch/a.md"]


def test_results_of_deleted_chapters_are_removed(tmp_path):
    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n\n```{.python .input}\nx = 1\n```\n"}, config=CONFIG)
    folder = root / "build/eval/pytorch"
    (folder / "ch").mkdir(parents=True)
    for name in ("b.ipynb", "b.failed.ipynb"):  # what an earlier eval left of a chapter deleted since
        (folder / "ch" / name).write_text("{}")
    REPORT_STORE.write(folder / "report.json", {"notebooks": [{"notebook": "build/eval/pytorch/ch/b.ipynb"}]})
    EvalCache.STORE.write(folder / "cache.json", {"ch/b.md": {"key": "k", "seconds": 1.0}})
    assert run(root, "eval").exit_code == 0
    assert sorted(p.name for p in (folder / "ch").iterdir()) == ["a.ipynb"]
    assert set(EvalCache.STORE.read(folder / "cache.json")) == {"ch/a.md"}


def test_a_second_eval_of_a_tab_waits_for_the_first(tmp_path):
    import threading

    from filelock import FileLock

    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n\n```{.python .input}\nx = 1\n```\n"}, config=CONFIG)
    (root / "build").mkdir()
    (root / "data").mkdir()  # a missing resource would be a warning of its own
    lines: list[str] = []
    held = FileLock(root / "build/.lock")
    with held:
        second = threading.Thread(target=evaluate, args=(root, EvalOptions(workers=1), lambda total: PlainProgress(total, lines.append), lines.append))
        second.start()
        second.join(1.0)
        assert second.is_alive() and lines == ["build/.lock: another d2lbuild command is writing build/; waiting for it to finish"]
    second.join(60)
    assert not second.is_alive() and lines[-1].endswith("ch/a.md")


def test_force_rebuilds_a_library_whose_state_says_unchanged(evaluated, monkeypatch):
    root, _ = evaluated
    state = next((root / "build/.d2lbuild").glob("extract-*.json"))
    data = json.loads(state.read_text())
    library = root / "d2l/torch.py"
    text = library.read_text()
    library.write_text(text.replace("return 2 * x", "return 9 * x"))
    data["data"]["outputs"]["d2l/torch.py"] = digest(library.read_text())
    state.write_text(json.dumps(data))  # a state that vouches for the edited library
    try:
        plan, _, _ = prepare_tab(load_config(root), "pytorch", EvalOptions(workers=2, force=True), log=lambda line: None)
        assert library.read_text() == text and len(plan.jobs) == len(CHAPTERS)
    finally:
        library.write_text(text)


@pytest.mark.parametrize(
    "config, expected",
    [
        (
            "[build]\ntabs = pytorch, mxnet\n[library-pytorch]\nlib_file = d2l/x.py\n[library-mxnet]\nlib_file = d2l/x.py\n",
            "config.ini:7: [library-mxnet] lib_file: d2l/x.py is also the library of tab pytorch (config.ini:5)\n",
        ),
        (
            "[build]\ntabs = pytorch\n[library]\nversion_file = d2l/torch.py\n",
            "config.ini:5: [library] version_file: d2l/torch.py is the library of tab pytorch; name another file\n",
        ),
    ],
)
def test_config_collisions_are_errors_naming_both(book, config, expected):
    root = book({"a.md": "# A\n"}, config="[build]\nindex = index\n" + config.removeprefix("[build]\n"))
    result = run(root, "extract")
    assert (result.exit_code, result.stderr) == (1, expected)


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"x.md": "# X\n", "x.py": "# %%\nx = 1\n"}, "x.py:1: collides with x.md: both would become the notebook x.ipynb; rename one\n"),
        ({"a.md": "# A\n", "a.failed.md": "# F\n"}, "a.failed.md:1: collides with a.md: its notebook is where a failed run of a.md is kept; rename it\n"),
    ],
)
def test_chapter_collisions_are_errors_naming_both(book, files, expected):
    config = "[build]\nindex = index\nnotebooks = *.md *.py\ntabs = pytorch\n"
    root = book({"index.md": "# Book\n", **files}, config=config)
    result = run(root, "notebooks")
    assert (result.exit_code, result.stderr) == (1, expected)


def test_duplicate_keys_and_a_library_section_for_no_tab_are_warnings(book):
    config = "[build]\nindex = index\ntabs = pytorch\ntabs = pytorch\n\n[library-jax]\nlib_file = d2l/jax.py\n"
    root = book({"a.md": "# A\n"}, config=config)
    result = run(root, "extract")
    assert result.exit_code == 0
    assert "config.ini:4: warning: [build] tabs is set again (first at line 3); this value wins" in result.stderr
    assert "config.ini:6: warning: [library-jax] names no tab of [build] tabs; it is ignored" in result.stderr


@pytest.mark.parametrize("pattern, chapter, matched", [("*.md", "ch/a.md", False), ("**/*.md", "ch/a.md", True), ("ch/*.md", "ch/x/a.md", False)])
def test_a_star_does_not_cross_folders(pattern, chapter, matched):
    from d2lbuild.config import EvalSettings
    from d2lbuild.schedule import gpu_need, timeout_for

    settings = EvalSettings(timeout=600, timeouts=((pattern, 5),), gpu_sections=(pattern,))
    assert (timeout_for(chapter, settings) == 5) is matched and gpu_need(chapter, "", settings)[0] is matched


def test_eval_writes_nothing_outside_build(tmp_path, monkeypatch):
    from conftest import snapshot

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # otherwise the library's bytecode is written beside it
    files = {"ch/a.md": "# A\n\n```{.python .input}\nopen('../data/words.txt', 'a').write('more')\nget_ipython().run_line_magic('who', '')\n```\n"}
    root = write_book(tmp_path / "book", files, config=CONFIG)
    (root / "data").mkdir()
    (root / "data/words.txt").write_text("hello\n")
    before = snapshot(root)
    result = run(root, "eval")
    assert result.exit_code == 0, result.stdout + result.stderr
    after = {path: data for path, data in snapshot(root).items() if not path.startswith(("build/", "d2l/"))}
    assert after == before
    assert sorted(path.relative_to(root).as_posix() for path in (root / "d2l").iterdir()) == ["d2l/__init__.py", "d2l/torch.py"]
    assert list(home.iterdir()) == []


def test_a_resource_link_left_by_an_earlier_version_is_replaced_by_a_copy(tmp_path):
    from d2lbuild.workspace import copy_resources

    root = write_book(tmp_path / "book", {"ch/a.md": "# A\n"}, config=CONFIG)
    (root / "data").mkdir()
    (root / "data/words.txt").write_text("hello\n")
    folder = root / "build/eval/pytorch"
    folder.mkdir(parents=True)
    (folder / "data").symlink_to(root / "data", target_is_directory=True)
    copy_resources(load_config(root), folder, warn=lambda line: None)
    assert (root / "data/words.txt").read_text() == "hello\n"
    assert not (folder / "data").is_symlink() and (folder / "data/words.txt").read_text() == "hello\n"
    (root / "data/words.txt").unlink()
    copy_resources(load_config(root), folder, warn=lambda line: None)
    assert not (folder / "data/words.txt").exists()  # a copy whose source is gone goes too


def test_a_folder_where_the_library_file_goes_is_named_not_the_temporary_file(book):
    root = book({"a.md": "# A\n\n```{.python .input}\ndef f():  #@save\n    pass\n```\n"}, tabs="pytorch")
    (root / "d2l/torch.py").mkdir(parents=True)
    result = run(root, "extract")
    assert (result.exit_code, result.stderr) == (1, "d2l/torch.py: is a directory\n")
