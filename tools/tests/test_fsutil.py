"""Atomic writes: the folder is made, the mode is a new file's, a stale temporary file is no obstacle."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from d2lbuild.fsutil import write_atomic, write_if_changed


def test_write_atomic_makes_the_folder_and_gives_a_new_files_mode(tmp_path: Path):
    target = tmp_path / "a" / "b" / "x.txt"
    write_atomic(target, "hello")
    reference = tmp_path / "reference.txt"
    reference.write_text("")
    assert target.read_text() == "hello"
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.txt"]


def test_a_stale_temporary_file_of_this_process_number_is_left_alone(tmp_path: Path):
    stale = tmp_path / f".x.txt.{os.getpid()}.tmp"
    stale.write_text("left by a crash")
    write_atomic(tmp_path / "x.txt", b"new")
    assert (tmp_path / "x.txt").read_bytes() == b"new"
    assert stale.read_text() == "left by a crash"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["x.txt", stale.name])


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path: Path):
    (tmp_path / "x.txt").mkdir()  # the target is a folder: the rename fails
    with pytest.raises(OSError):
        write_atomic(tmp_path / "x.txt", "data")
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_write_if_changed_writes_only_a_difference(tmp_path: Path):
    target = tmp_path / "x.txt"
    assert write_if_changed(target, "one") is True
    before = target.stat().st_mtime_ns, target.stat().st_ino
    assert write_if_changed(target, "one") is False
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == before
    assert write_if_changed(target, "two") is True and target.read_text() == "two"
