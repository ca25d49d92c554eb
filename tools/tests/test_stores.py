"""The one store type: kind and version in the file, shape checked on read, damaged or foreign files recomputed,
FIFOs never opened, durable atomic writes, and concurrent writers that keep each other's updates."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from d2lbuild.cache import EvalCache
from d2lbuild.failures import FailureMemory
from d2lbuild.stores import StoreType, is_str_map

NUMBERS = StoreType("numbers", 2, lambda data: is_str_map(data, int))


def test_a_store_reads_back_what_it_wrote_with_its_kind_and_version(tmp_path: Path):
    path = tmp_path / "build" / "numbers.json"
    NUMBERS.write(path, {"a": 1})
    assert json.loads(path.read_text()) == {"kind": "numbers", "version": 2, "data": {"a": 1}}
    assert NUMBERS.read(path) == {"a": 1}


@pytest.mark.parametrize(
    "text",
    ["{not json", "[1, 2]", '{"kind": "numbers", "data": {"a": 1}}', '{"kind": "other", "version": 2, "data": {"a": 1}}', '{"kind": "numbers", "version": 2, "data": {"a": "x"}}'],
)
def test_a_damaged_or_foreign_store_is_absent_with_one_warning(tmp_path: Path, text: str):
    path = tmp_path / "numbers.json"
    path.write_text(text)
    warnings: list[str] = []
    assert NUMBERS.read(path, warnings.append, "build/numbers.json") is None
    assert warnings == ["build/numbers.json: warning: not a state file d2lbuild wrote; discarded and rebuilt"]


def test_a_store_of_another_version_is_absent_without_a_word(tmp_path: Path):
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps({"kind": "numbers", "version": 1, "data": {"a": 1}}))
    warnings: list[str] = []
    assert NUMBERS.read(path, warnings.append) is None and warnings == []


def test_a_store_an_earlier_d2lbuild_wrote_without_kind_is_absent_without_a_word(tmp_path: Path):
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps({"a": 1}))  # the layout before stores named their kind and version
    warnings: list[str] = []
    assert NUMBERS.read(path, warnings.append) is None and warnings == []


def test_a_missing_store_is_absent_without_a_word(tmp_path: Path):
    warnings: list[str] = []
    assert NUMBERS.read(tmp_path / "none.json", warnings.append) is None and warnings == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_a_stores_place_is_never_opened_for_reading(tmp_path: Path):
    path = tmp_path / "numbers.json"
    os.mkfifo(path)
    warnings: list[str] = []
    assert NUMBERS.read(path, warnings.append, "numbers.json") is None  # opening it for reading would block for ever
    assert warnings == ["numbers.json: warning: cannot read (not a regular file); discarded and rebuilt"]


def test_data_of_the_wrong_shape_is_never_written(tmp_path: Path):
    with pytest.raises(ValueError):
        NUMBERS.write(tmp_path / "numbers.json", {"a": "one"})
    assert not (tmp_path / "numbers.json").exists()


def test_a_store_write_is_flushed_before_its_rename(tmp_path: Path, monkeypatch):
    import d2lbuild.fsutil as fsutil

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(fsutil.os, "fsync", lambda descriptor: (synced.append(descriptor), real_fsync(descriptor)))
    NUMBERS.write(tmp_path / "numbers.json", {"a": 1})
    assert len(synced) >= 1


def test_two_open_caches_keep_each_others_entries(tmp_path: Path):
    """Two evals that opened the cache before either wrote (two processes): neither loses the other's record."""
    path = tmp_path / "cache.json"
    first, second = EvalCache(path, print, "cache.json"), EvalCache(path, print, "cache.json")
    first.record("a.md", "ka", 1.0, "ra")
    second.record("b.md", "kb", 2.0, "rb")
    second.forget("gone.md")
    assert set(EvalCache(path, print, "cache.json").entries) == {"a.md", "b.md"}
    first.forget("a.md")
    assert set(EvalCache(path, print, "cache.json").entries) == {"b.md"}


def test_keep_only_drops_only_what_it_saw_as_stale(tmp_path: Path):
    path = tmp_path / "failures.json"
    first, second = FailureMemory(path, print, "f"), FailureMemory(path, print, "f")
    first.remember("old.md", "k", 1.0, "error", "r", "t")
    second.remember("new.md", "k", 1.0, "error", "r", "t")
    first.keep_only({"new.md"})  # first never saw new.md: the other writer's entry stays
    assert set(FailureMemory(path, print, "f").entries) == {"new.md"}


def _record_many(path: str, prefix: str, count: int) -> None:
    cache = EvalCache(Path(path), print, "cache.json")  # opened once, as an eval opens its cache
    for index in range(count):
        cache.record(f"{prefix}{index}.md", "k", 0.1, "r")


def test_concurrent_writers_in_two_processes_lose_no_update(tmp_path: Path):
    path = tmp_path / "cache.json"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_many, args=(str(path), prefix, 15)) for prefix in ("x", "y")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(EvalCache(path, print, "cache.json").entries) == 30


def test_two_formatters_saving_one_store_keep_both_results(tmp_path: Path):
    from d2lbuild.formatting import CodeFormatter

    store = tmp_path / "formatted.json"
    first, second = CodeFormatter(tmp_path, store), CodeFormatter(tmp_path, store)
    first.kept_text("one", lambda: "ONE")
    second.kept_text("two", lambda: "TWO")
    first.save()
    second.save()
    again = CodeFormatter(tmp_path, store)
    assert again.kept_text("one", lambda: "recomputed") == "ONE" and again.kept_text("two", lambda: "recomputed") == "TWO"


def test_two_builds_of_other_tabs_keep_both_in_the_saved_block_store(tmp_path: Path):
    from d2lbuild.block_store import SavedBlockStore

    first, second = SavedBlockStore(tmp_path, "same"), SavedBlockStore(tmp_path, "same")
    first.put_absent("a.md", "digest", "pytorch")
    second.put_absent("a.md", "digest", "mxnet")
    first.save(["a.md"])
    second.save(["a.md"])
    again = SavedBlockStore(tmp_path, "same")
    assert again.absent("a.md", "digest", "pytorch") and again.absent("a.md", "digest", "mxnet")
    assert not SavedBlockStore(tmp_path, "another d2lbuild").absent("a.md", "digest", "pytorch")


def test_a_build_state_of_another_version_is_rebuilt_quietly(tmp_path: Path):
    from d2lbuild.state import STATE_STORE, BuildState

    path = tmp_path / "build/.d2lbuild/extract-pytorch.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"kind": STATE_STORE.kind, "version": STATE_STORE.version + 1, "data": {}}))
    state = BuildState(tmp_path, "extract-pytorch")
    assert state.data == {} and state.warnings == [] and not state.fresh("config", [])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_place_of_an_exported_notebook_is_refused_not_waited_on(tmp_path: Path):
    from d2lbuild.edit import load_notebook
    from d2lbuild.errors import BuildError

    os.mkfifo(tmp_path / "a.ipynb")
    with pytest.raises(BuildError, match="not a readable notebook"):
        load_notebook(tmp_path / "a.ipynb", "build/edit/pytorch/a.ipynb")
