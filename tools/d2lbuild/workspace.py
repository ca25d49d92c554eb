"""The folder a tab is evaluated in, ``build/eval/TAB``: real copies of the resources, and a lock."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from .book import SKIPPED_DIRS
from .config import Config, config_position
from .errors import BuildError
from .guard import check_build_links
from .layout import BUILD_DIR
from .stores import StoreType, has_fields

MANIFEST = ".resources.json"
MANIFEST_STORE = StoreType("resource-copies", 1, lambda data: has_fields(data, {"files": list}))


def resource_files(config: Config) -> dict[str, Path]:
    """Relative path -> source file of every file under ``[build] resources`` (missing resources are skipped)."""
    files: dict[str, Path] = {}
    for resource in config.resources:
        source = config.root / resource.rstrip("/")
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                relpath = path.relative_to(config.root).as_posix()
                if path.is_file() and not _skipped(relpath):
                    files[relpath] = path
        elif source.is_file():
            files[source.relative_to(config.root).as_posix()] = source
    return files


def _skipped(relpath: str) -> bool:
    """build/ (d2lbuild's outputs: ``resources = .`` would copy them into themselves), version control, caches."""
    return any(part in SKIPPED_DIRS for part in relpath.split("/")[:-1])


def library_files(config: Config) -> set[str]:
    """The book's library: every tab's ``lib_file``, the ``__init__.py`` of their packages and the version file."""
    files = set()
    for library in config.libraries:
        path = PurePosixPath(library.lib_file)
        files.add(path.as_posix())
        files.update((parent / "__init__.py").as_posix() for parent in path.parents if parent != PurePosixPath("."))
    if config.version_file:
        files.add(PurePosixPath(config.version_file).as_posix())
    return files


def digested_resources(config: Config) -> dict[str, Path]:
    """The resource files whose bytes enter every notebook's key: all but the library's (its own digests cover it)."""
    library = library_files(config)
    return {relpath: path for relpath, path in resource_files(config).items() if relpath not in library}


def missing_resources(config: Config) -> list[str]:
    """A warning for each resource that does not exist (it is skipped)."""
    where = config_position(config.root, "build", "resources")
    return [f"{where}: warning: [build] resources: {resource} does not exist; it is skipped"
            for resource in config.resources if not (config.root / resource.rstrip("/")).exists()]


def copy_resources(config: Config, folder: Path, warn) -> None:
    """Copy the resources into ``folder`` at the same relative paths, refreshing each copy whose bytes differ.

    Notebooks may write into their copies freely: the next eval restores every copied file that differs
    from its source and removes copies whose source is gone. Nothing outside ``folder`` is touched.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = resource_files(config)
    for resource in config.resources:  # links an earlier version of d2lbuild made: drop the link, never its target
        target = folder / resource.rstrip("/")
        if target.is_symlink():
            target.unlink()
    for relpath, source in files.items():
        _refresh(source, folder / relpath)
    manifest = folder / MANIFEST
    earlier = (MANIFEST_STORE.read(manifest, warn, manifest.relative_to(config.root).as_posix()) or {}).get("files", [])
    for relpath in earlier:
        if isinstance(relpath, str) and relpath not in files and _inside(folder, folder / relpath):
            (folder / relpath).unlink(missing_ok=True)
    MANIFEST_STORE.write(manifest, {"files": sorted(files)})


def _refresh(source: Path, target: Path) -> None:
    if target.is_symlink() or not target.is_file():
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink():
            target.unlink()
    elif target.stat().st_size == source.stat().st_size and target.read_bytes() == source.read_bytes():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        shutil.copymode(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _inside(folder: Path, path: Path) -> bool:
    return os.path.normpath(path).startswith(os.path.normpath(folder) + os.sep)


def check_build_folder(root: Path) -> None:
    """``build`` must be a folder (or absent): anything else is one clear line, not a traceback."""
    build = root / BUILD_DIR
    if build.exists() and not build.is_dir():
        raise BuildError(BUILD_DIR, "is not a folder; d2lbuild writes every output under build/ (move it away)")
    check_build_links(root)
