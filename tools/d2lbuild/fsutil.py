"""File helpers: atomic writes (a failure never leaves half a file), file digests, reading regular files only."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from functools import lru_cache
from pathlib import Path

from .hashing import digest


def write_atomic(path: Path, data: str | bytes, durable: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Few system calls: a build writes hundreds of files, and creating a file is what costs most. ``durable``
    (the stores a later run trusts) flushes the bytes to disk before the rename, and the rename after it, so a
    crash leaves the old file or the new one, never an empty one.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary, descriptor = _temporary_beside(path)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(descriptor, view) :]
            if durable:
                os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the system allows opening a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _temporary_beside(path: Path) -> tuple[str, int]:
    """A new, empty temporary file in ``path``'s folder (made when missing), with the mode a new file gets."""
    temporary = f"{path.parent}{os.sep}.{path.name}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        return temporary, os.open(temporary, flags, 0o666)  # the umask applies, as for any new file
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return temporary, os.open(temporary, flags, 0o666)
    except FileExistsError:  # left by a process that had this number, or another thread of this one
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(temporary, 0o666 & ~_umask())
        return temporary, descriptor


def _umask() -> int:
    """The process umask (read by setting it, then setting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_if_changed(path: Path, data: str) -> bool:
    """Write ``data`` atomically unless the file already holds it; return whether it wrote."""
    payload = data.encode("utf-8")
    try:
        if path.read_bytes() == payload:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, payload)
    return True


def file_digest(path: Path) -> str | None:
    """The digest of a regular file's bytes, or None when it cannot be read (or is a FIFO, a device, a folder)."""
    try:
        return digest(read_regular(path))
    except OSError:
        return None


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; anything else (a FIFO would block for ever) raises OSError."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


@lru_cache(maxsize=1)
def source_digest() -> str:
    """A digest of d2lbuild's own source: a changed tool invalidates every cache and state (read once a run)."""
    package = Path(__file__).resolve().parent
    parts = [f"{path.name}\0{file_digest(path)}" for path in sorted(package.glob("*.py"))]
    return digest("\n".join(parts))
