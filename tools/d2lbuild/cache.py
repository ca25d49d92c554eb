"""The eval cache: a notebook runs again only when something it depends on changed."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .fsutil import write_atomic

D2L_NAME = re.compile(r"(?<![\w.])d2l\.(\w+)")


def library_digests(index: dict) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Name -> digest of the definition that binds it, and name -> the names it uses."""
    digests, uses = {}, {}
    for definition in index["definitions"]:
        for name in definition["names"]:
            digests[name] = definition["digest"]
            uses[name] = definition["uses"]
    return digests, uses


def reachable(names: set[str], uses: dict[str, list[str]]) -> set[str]:
    """The library names reachable from ``names`` through the definitions' uses."""
    seen: set[str] = set()
    stack = [name for name in names if name in uses]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(used for used in uses.get(name, []) if used not in seen)
    return seen


def notebook_key(code: str, index: dict, environment: str, resources: str, settings: str) -> tuple[str, list[str]]:
    """The cache key of a notebook, and the library names it depends on."""
    digests, uses = library_digests(index)
    names = sorted(reachable(set(D2L_NAME.findall(code)), uses))
    parts = [code, environment, resources, settings, index.get("header_digest", "")]
    parts += [f"{name}={digests[name]}" for name in names]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest(), names


def resources_digest(root: Path, resources: tuple[str, ...]) -> str:
    """Digest of every file under the configured resources (their bytes and names)."""
    digest = hashlib.sha256()
    for resource in resources:
        base = root / resource
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base] if base.is_file() else []
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class EvalCache:
    """``build/eval/TAB/cache.json``: chapter -> key of its last good run; saved after every run."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.entries: dict[str, dict] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def hit(self, chapter: str, key: str, result: Path) -> dict | None:
        entry = self.entries.get(chapter)
        return entry if entry and entry.get("key") == key and result.is_file() else None

    def record(self, chapter: str, key: str, seconds: float) -> None:
        self.entries[chapter] = {"key": key, "seconds": round(seconds, 3)}
        write_atomic(self.path, json.dumps(self.entries, indent=1, sort_keys=True) + "\n")

    def forget(self, chapter: str) -> None:
        if self.entries.pop(chapter, None) is not None:
            write_atomic(self.path, json.dumps(self.entries, indent=1, sort_keys=True) + "\n")
