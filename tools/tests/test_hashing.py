"""One hashing helper: sha256 of NUL-joined parts at an explicit length, and no other module hashes on its own."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from d2lbuild.hashing import digest, digest_of

PACKAGE = Path(__file__).resolve().parents[1] / "d2lbuild"


def test_one_part_is_the_sha256_of_its_bytes_at_the_length_asked():
    assert digest("abc") == hashlib.sha256(b"abc").hexdigest()[:16]
    assert digest(b"abc", length=64) == hashlib.sha256(b"abc").hexdigest()
    assert len(digest("abc", length=24)) == 24


def test_parts_are_joined_by_nul_bytes_and_their_order_counts():
    assert digest("a", b"b") == digest("a\0b")
    assert digest("a", "b") != digest("b", "a") and digest("ab") != digest("a", "b")
    assert digest_of(iter(["a", "b"]), length=32) == digest("a", "b", length=32)


@pytest.mark.parametrize("length", [0, 65])
def test_a_length_outside_sha256_is_refused(length: int):
    with pytest.raises(ValueError):
        digest("a", length=length)


def test_no_other_module_hashes_by_itself():
    users = [path.relative_to(PACKAGE).as_posix() for path in sorted(PACKAGE.rglob("*.py"))
             if path.name not in ("hashing.py", "warm_template.py") and re.search(r"^\s*(import|from) hashlib", path.read_text(), re.M)]
    assert users == []
