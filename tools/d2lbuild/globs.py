"""Globs as the config writes them (``*`` stays inside a folder, ``**`` spans folders), matched against paths."""

from __future__ import annotations

import functools
import re


def matches_any(relpath: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``relpath`` matches one of the glob patterns: ``*`` stays inside a folder, ``**`` spans folders."""
    return any(glob_regex(pattern).fullmatch(relpath) for pattern in patterns)


@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern:
    """A glob as a regular expression over ``/``-separated paths (``**/`` also matches no folder at all)."""
    parts, index = [], 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        elif pattern[index] == "[" and "]" in pattern[index + 2 :]:
            end = pattern.index("]", index + 2)
            body = pattern[index + 1 : end]
            parts.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            index = end + 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts))


def glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a glob d2lbuild can match (``[z-a]``), or None."""
    try:
        glob_regex(pattern)
    except re.error as err:
        return f"{pattern!r} is not a valid glob ({err.msg})"
    return None
