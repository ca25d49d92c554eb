"""Errors that carry a source position, printed as ``path:line: message``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """A place in a chapter: the file, the line, and for notebooks the cell."""

    path: str
    line: int
    cell: int | None = None

    def __str__(self) -> str:
        if self.cell is None:
            return f"{self.path}:{self.line}"
        return f"{self.path}:cell{self.cell}:{self.line}"


class BuildError(Exception):
    """Bad input: reported as one line ``position: message`` and exit status 1."""

    def __init__(self, position: Position | str, message: str):
        super().__init__(f"{position}: {message}")
        self.position = position
        self.message = message


@dataclass(frozen=True)
class Warning_:
    """A problem worth reporting that does not stop the build."""

    position: Position | str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: warning: {self.message}"


class Stopped(Exception):
    """A stop signal (SIGTERM) that arrived outside the notebook runs, which handle signals themselves."""

    def __init__(self, number: int):
        super().__init__(f"stopped by signal {number}")
        self.number = number
