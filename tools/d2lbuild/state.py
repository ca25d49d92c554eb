"""The incremental state of extract and notebooks: content digests of what a run read and wrote.

A command is skipped only when every input and output still holds the bytes recorded, the config and
d2lbuild's own source are unchanged, and the same files are chapters. Inputs are digested before they are
read and again after: a file edited while the command ran is recorded as unknown, so the next run rebuilds.
"""

from __future__ import annotations

from pathlib import Path

from .fsutil import file_digest, source_digest
from .hashing import digest
from .layout import STATE_DIR, state_path
from .stores import StoreType, has_fields

UNKNOWN = "?"
_SHAPE = {"tool": str, "config": str, "notebook_files": list, "inputs": dict, "outputs": dict}
STATE_STORE = StoreType("build-state", 1, lambda data: has_fields(data, _SHAPE), compact=True)


class BuildState:
    """``build/.d2lbuild/NAME.json``: the digests of a command's inputs and outputs at its last run."""

    def __init__(self, root: Path, name: str):
        self.root = root
        self.relpath = state_path(name)
        self.warnings: list[str] = []
        self.data: dict = STATE_STORE.read(root / self.relpath, self.warnings.append, self.relpath) or {}
        self.before: dict[str, str | None] = {}

    def snapshot(self, candidates: list[str]) -> None:
        """Digest the inputs before anything reads them: the last run's inputs and ``candidates``."""
        paths = set(candidates) | set(self.data.get("inputs", {}))
        self.before = {path: file_digest(self.root / path) for path in sorted(paths)}

    def fresh(self, config_digest: str, notebook_files: list[str]) -> bool:
        """Whether the recorded run is still valid (call ``snapshot`` first)."""
        data = self.data
        if not data or data["tool"] != source_digest() or data["config"] != config_digest:
            return False
        if data["notebook_files"] != notebook_files:
            return False
        if any(recorded == UNKNOWN or self.before.get(path) != recorded for path, recorded in data["inputs"].items()):
            return False
        return all(file_digest(self.root / path) == recorded for path, recorded in data["outputs"].items())

    def recorded_output(self, path: str) -> str | None:
        """The digest recorded for an output at the last run, if that run had the same tool and config."""
        return self.data.get("outputs", {}).get(path)

    def recorded_input(self, path: str) -> str | None:
        return self.data.get("inputs", {}).get(path)

    def same_settings(self, config_digest: str) -> bool:
        """Whether the last run had this d2lbuild and this config (its per-file records then still hold)."""
        return bool(self.data) and self.data["tool"] == source_digest() and self.data["config"] == config_digest

    def save(
        self,
        config_digest: str,
        notebook_files: list[str],
        inputs: list[str],
        outputs: dict[str, str],
        kept: dict[str, str] | None = None,
        **extra,
    ) -> None:
        """Record this run: inputs as digested before reading (unknown when they changed since), outputs as
        written, and ``kept`` outputs (left as they were) by their digests."""
        recorded = {}
        for path in sorted(set(inputs)):
            now = file_digest(self.root / path)
            recorded[path] = now if path in self.before and self.before[path] == now else UNKNOWN
        data = {
            "tool": source_digest(),
            "config": config_digest,
            "notebook_files": list(notebook_files),
            "inputs": recorded,
            "outputs": dict(sorted({**{path: digest(text) for path, text in outputs.items()}, **(kept or {})}.items())),
            **extra,
        }
        STATE_STORE.write(self.root / self.relpath, data)


def discard_states(root: Path) -> None:
    """Forget every recorded run (``--force``): the next extract and notebooks rebuild."""
    folder = root / STATE_DIR
    for path in folder.glob("*.json") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
