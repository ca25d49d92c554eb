"""The one on-disk JSON store of d2lbuild: every file the tool writes and reads back later.

A store file is a JSON object ``{"kind": KIND, "version": N, "data": ...}`` (a report that people read too
keeps its fields at the top: ``{"kind": KIND, "version": N, FIELD: ..., ...}``). Reading checks all three: a file
that is missing, not JSON, of another kind or version, or whose data has not the store's shape is treated as
absent, so what it held is computed again (a damaged file says so in one warning line; a file of another
version, or of an earlier d2lbuild whose files named no kind, is quietly replaced). A FIFO, a device or a
folder is never opened for reading. Writes are atomic and flushed to disk before the rename. ``update`` is a
read-modify-write under a lock file beside the store, so two processes (two tabs built at once) that both add
entries keep both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fsutil import read_regular, write_atomic

Warn = Callable[[str], None]


def _quiet(message: str) -> None:
    """Warnings of a store that is only a cache of cheap results: nothing to say."""


@dataclass(frozen=True)
class StoreType:
    """One kind of store: its name in the file, its format version, and the shape its data must have."""

    kind: str
    version: int
    shape: Callable[[Any], bool]  # whether decoded data is what this version writes
    compact: bool = False  # written without indentation (large stores read by the tool only)
    inline: bool = False  # the data (a JSON object) beside kind and version, not under "data"

    def read(self, path: Path, warn: Warn = _quiet, shown: str | None = None) -> Any | None:
        """The data stored at ``path``, or None when there is none this version can use (see the module's text)."""
        shown = shown or str(path)
        try:
            text = read_regular(path).decode("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as err:
            warn(f"{shown}: warning: cannot read ({getattr(err, 'strerror', None) or err}); discarded and rebuilt")
            return None
        return self.loads(text, warn, shown)

    def loads(self, text: str, warn: Warn = _quiet, shown: str = "") -> Any | None:
        """The data of a store's text, or None when this version cannot use it (``read`` without the file)."""
        try:
            envelope = json.loads(text)
        except (ValueError, RecursionError):
            envelope = None
        if isinstance(envelope, dict) and "kind" not in envelope and "version" not in envelope:
            return None  # written before stores named their kind (an earlier d2lbuild): computed again, nothing to fix
        if not isinstance(envelope, dict) or envelope.get("kind") != self.kind or not isinstance(envelope.get("version"), int):
            warn(f"{shown}: warning: not a state file d2lbuild wrote; discarded and rebuilt")
            return None
        if envelope["version"] != self.version:  # another d2lbuild's format: computed again, nothing to fix
            return None
        data = {k: v for k, v in envelope.items() if k not in ("kind", "version")} if self.inline else envelope.get("data")
        if not self.shape(data):
            warn(f"{shown}: warning: not a state file d2lbuild wrote; discarded and rebuilt")
            return None
        return data

    def dumps(self, data: Any) -> str:
        """The file's text for ``data``."""
        head = {"kind": self.kind, "version": self.version}
        envelope = {**head, **data} if self.inline else {**head, "data": data}
        if self.compact:
            return json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        return json.dumps(envelope, ensure_ascii=False, sort_keys=True, indent=1) + "\n"

    def write(self, path: Path, data: Any) -> None:
        """Replace the store with ``data``, atomically and flushed to disk."""
        if not self.shape(data):
            raise ValueError(f"{self.kind}: data of the wrong shape for version {self.version}")
        write_atomic(path, self.dumps(data), durable=True)

    def write_if_changed(self, path: Path, data: Any) -> bool:
        """``write`` unless the file already holds exactly this data (its time then stays); return whether it wrote."""
        text = self.dumps(data)
        try:
            if read_regular(path).decode("utf-8") == text:
                return False
        except (OSError, UnicodeDecodeError):
            pass
        self.write(path, data)
        return True

    def update(self, path: Path, change: Callable[[Any | None], Any], warn: Warn = _quiet, shown: str | None = None) -> Any:
        """Under the store's lock: read it (None when absent), write ``change(data)``; return what was written."""
        with store_lock(path):
            data = change(self.read(path, warn, shown))
            self.write(path, data)
        return data


@contextmanager
def store_lock(path: Path) -> Iterator[None]:
    """Hold the lock file beside a store (``.NAME.lock``) while its file is read and replaced."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.parent / f".{path.name}.lock", thread_local=False):
        yield


def is_str_map(value: Any, kind: type | tuple[type, ...] = object) -> bool:
    """Whether ``value`` is a JSON object whose values all have type ``kind``."""
    return isinstance(value, dict) and all(isinstance(item, kind) for item in value.values())


def has_fields(value: Any, fields: dict[str, type | tuple[type, ...]]) -> bool:
    """Whether ``value`` is a JSON object with each of ``fields`` of its type (others may be there too)."""
    return isinstance(value, dict) and all(isinstance(value.get(name), kind) for name, kind in fields.items())
