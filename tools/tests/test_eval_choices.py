"""Eval's choices: sections selected on the command line, failures remembered, and skips for GPUs the host lacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run, write_book

from d2lbuild.errors import BuildError
from d2lbuild.evaluate import EvalOptions, evaluate
from d2lbuild.report import PlainProgress
from d2lbuild.sections import select

CONFIG = "[build]\nindex = index\nnotebooks = **/*.md\ntabs = pytorch\n\n[eval]\ntimeout = 30\n"

SECTION = "# {name}\n\n```{{.python .input}}\nprint('{name}', {value})\n```\n"


def eval_book(root: Path, **options):
    lines: list[str] = []
    outcome = evaluate(root, EvalOptions(workers=2, **options), lambda total: PlainProgress(total, lines.append), log=lines.append)
    return {r.job.chapter: r for r in outcome.results}, lines


def report(root: Path) -> dict[str, dict]:
    data = json.loads((root / "build/eval/pytorch/report.json").read_text())
    return {record["chapter"]: record for record in data["notebooks"]}


@pytest.fixture
def three(tmp_path):
    files = {f"ch/{name}.md": SECTION.format(name=name, value=1) for name in ("a", "b")}
    files["other/c.md"] = SECTION.format(name="c", value=1)
    return write_book(tmp_path / "book", files, config=CONFIG)


def test_patterns_are_paths_or_globs_relative_to_the_book(three, tmp_path):
    chapters = ["ch/a.md", "ch/b.md", "index.md", "other/c.md"]
    assert select(three, ("ch/*",), chapters).patterns == ("ch/*",)
    chosen = select(three, ("ch/a", "./other/c.md", "ch/"), chapters)
    assert [c for c in chapters if chosen.selects(c)] == ["ch/a.md", "ch/b.md", "other/c.md"]
    assert select(three, ("a.md",), chapters, cwd=three / "ch").patterns == ("ch/a.md",)  # a path from a folder of the book
    assert all(select(three, (".",), chapters, cwd=three).selects(c) for c in chapters)  # the book's root: every section
    with pytest.raises(BuildError, match="ch/zz.md: matches no section of the book"):
        select(three, ("ch/zz.md",), chapters)
    with pytest.raises(BuildError, match="is outside the book"):
        select(three, ("../x.md",), chapters)


def test_only_selected_sections_run_and_the_others_are_kept(three):
    results, _ = eval_book(three)
    assert len(results) == 4
    before = {path: (three / "build/eval/pytorch" / path).read_bytes() for path in ("ch/b.ipynb", "other/c.ipynb")}
    cache = json.loads((three / "build/eval/pytorch/cache.json").read_text())["data"]
    for name in ("a", "c"):  # both change; only a is selected
        path = three / ("ch" if name == "a" else "other") / f"{name}.md"
        path.write_text(SECTION.format(name=name, value=2))
    results, _ = eval_book(three, sections=("ch/*",))
    assert {chapter: r.status for chapter, r in results.items()} == {"ch/a.md": "ok", "ch/b.md": "cached"}
    assert {path: (three / "build/eval/pytorch" / path).read_bytes() for path in before} == before
    after = json.loads((three / "build/eval/pytorch/cache.json").read_text())["data"]
    assert after["other/c.md"] == cache["other/c.md"] and after["index.md"] == cache["index.md"]
    lines = report(three)
    assert set(lines) == {"ch/a.md", "ch/b.md", "index.md", "other/c.md"}
    assert json.loads((three / "build/eval/pytorch/report.json").read_text())["selected"] == ["ch/*"]
    results, _ = eval_book(three)  # the section left out runs at the next whole eval
    assert {chapter for chapter, r in results.items() if r.status == "ok"} == {"other/c.md"}


def test_the_command_line_takes_sections(three):
    result = run(three, "eval", "-j", "1", "other/c.md")
    assert result.exit_code == 0, result.output
    assert "1 notebooks: 1 ran ok" in result.stdout and "selected: other/c.md" in result.stdout
    books = three.parent / "two-tabs"
    write_book(books, {"ch/a.md": SECTION.format(name="a", value=1)}, config=CONFIG.replace("tabs = pytorch", "tabs = pytorch, mxnet"))
    result = run(books, "eval", "--tab", "mxnet", "ch/a.md")  # a section without a notebook in the tab
    assert result.exit_code == 0 and "eval mxnet: no selected section has a notebook in this tab" in result.stdout
    result = run(three, "eval", "ch/nothing*")
    assert result.exit_code == 1 and result.stderr.startswith("ch/nothing*: matches no section of the book")


FAILING = "# F\n\n```{{.python .input}}\nimport os\nprint('ran', os.getpid())\nraise ValueError('broken {n}')\n```\n"


def test_a_failure_is_remembered_until_something_it_depends_on_changes(tmp_path):
    root = write_book(tmp_path / "book", {"ch/f.md": FAILING.format(n=1), "ch/ok.md": SECTION.format(name="ok", value=1)}, config=CONFIG)
    first = run(root, "eval", "-j", "2")
    assert first.exit_code == 1 and "FAILED ch/f.md:6: ValueError: broken 1" in first.stderr
    failed = (root / "build/eval/pytorch/ch/f.failed.ipynb").read_bytes()
    again = run(root, "eval", "-j", "2")
    assert again.exit_code == 1  # still a failure, shown again without running
    assert "FAILED ch/f.md:6: ValueError: broken 1 [remembered from an earlier run" in again.stderr
    assert "1 remembered from an earlier run" in again.stdout
    assert (root / "build/eval/pytorch/ch/f.failed.ipynb").read_bytes() == failed  # not run: the same pid printed
    assert report(root)["ch/f.md"]["remembered"] is True and report(root)["ch/f.md"]["status"] == "failed"
    retried = run(root, "eval", "-j", "2", "--retry-failed")
    assert retried.exit_code == 1 and "remembered" not in retried.stderr
    assert (root / "build/eval/pytorch/ch/f.failed.ipynb").read_bytes() != failed
    (root / "ch/f.md").write_text(FAILING.format(n=2))  # its code changed: it runs again
    changed = run(root, "eval", "-j", "2")
    assert "FAILED ch/f.md:6: ValueError: broken 2\n" in changed.stderr
    forced = run(root, "eval", "-j", "2", "--force")
    assert "remembered" not in forced.stderr and "2 ran ok" in forced.stdout
    (root / "ch/f.md").write_text(SECTION.format(name="f", value=3))  # fixed: ok, and forgotten
    assert run(root, "eval", "-j", "2").exit_code == 0
    assert "ch/f.md" not in json.loads((root / "build/eval/pytorch/failures.json").read_text())["data"]


GPU_SECTION = "# G\n\n```{.python .input}\n#@gpus 2\nimport os\nprint(os.environ['CUDA_VISIBLE_DEVICES'] or 'none')\n```\n"


def test_a_section_needing_more_gpus_than_the_host_has_is_skipped(tmp_path):
    root = write_book(tmp_path / "book", {"ch/two.md": GPU_SECTION, "ch/cpu.md": SECTION.format(name="cpu", value=1)}, config=CONFIG)
    junit = tmp_path / "junit.xml"
    result = run(root, "eval", "--gpus", "0", "--junit", str(junit))
    assert result.exit_code == 0, result.output
    assert "ch/two.md: skipped: needs 2 GPUs, host has 1" in result.stdout
    assert "3 notebooks: 2 ran ok, 0 cached, 0 failed, 1 skipped" in result.stdout
    assert not (root / "build/eval/pytorch/ch/two.ipynb").exists()
    assert report(root)["ch/two.md"]["status"] == "skipped"
    assert '<skipped message="skipped: needs 2 GPUs, host has 1"' in junit.read_text() and 'skipped="1"' in junit.read_text()
    strict = run(root, "eval", "--device", "cpu", "--strict")
    assert strict.exit_code == 1 and "FAILED ch/two.md: needs 2 GPUs, host has 0" in strict.stderr
    results, _ = eval_book(root, gpus=("0", "1"))  # two fake GPUs: it runs on both
    assert results["ch/two.md"].status == "ok" and results["ch/two.md"].gpu == "0,1"
    assert results["ch/two.md"].job.gpu_reason == "marked #@gpus 2"
    notebook = json.loads((root / "build/eval/pytorch/ch/two.ipynb").read_text())
    assert notebook["cells"][1]["outputs"][0]["text"] == ["0,1\n"]


def test_check_lists_slow_sections_and_gpu_skips_from_the_last_report(tmp_path):
    root = write_book(tmp_path / "book", {"ch/two.md": GPU_SECTION, "ch/cpu.md": SECTION.format(name="cpu", value=1)}, config=CONFIG)
    assert "eval pytorch" not in run(root, "check").stdout  # no report yet
    assert run(root, "eval", "--device", "cpu").exit_code == 0
    data = json.loads((root / "build/eval/pytorch/report.json").read_text())
    for record in data["notebooks"]:
        record["seconds"] = 42.5 if record["chapter"] == "ch/cpu.md" else record["seconds"]
    (root / "build/eval/pytorch/report.json").write_text(json.dumps(data))
    checked = run(root, "check")
    assert checked.exit_code == 0
    assert "eval pytorch (last report): 3 sections" in checked.stdout and "1 of 10 s or more" in checked.stdout
    assert "  slow: ch/cpu.md  42.5 s" in checked.stdout
    assert "  skipped: ch/two.md: needs 2 GPUs, host has 0" in checked.stdout
