"""Name the chapter line of every traceback frame that lies in one of a notebook's cells."""

from __future__ import annotations

import re

from .errors import Position

CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")


def executed_cells(cells: list, failing) -> list:
    """The code cells run up to and including ``failing``, in order (empty cells never reach the kernel)."""
    ran = []
    for cell in cells:
        if cell.get("cell_type") == "code" and "".join(cell.get("source", "")).strip():
            ran.append(cell)
        if cell is failing:
            break
    return ran


def cells_by_count(trace: str, cells: list, failing) -> dict[int, object]:
    """The kernel's execution count of every cell run so far, from the failing cell's own count.

    The outermost ``Cell In[N]`` frame of the traceback is the failing cell; each cell run before it took the
    count below (every execution stores history), whatever the kernel counted before the notebook started.
    """
    frames = CELL_FRAME.findall(trace)
    ran = executed_cells(cells, failing)
    if not frames or not ran or ran[-1] is not failing:
        return {}
    last = int(frames[0][0])
    return {last - offset: cell for offset, cell in enumerate(reversed(ran))}


def chapter_line(cell, line_in_cell: int) -> Position | None:
    """The chapter position of a line of a notebook cell, from the cell's ``d2lbuild`` metadata."""
    where = cell.get("metadata", {}).get("d2lbuild") if cell is not None else None
    if not where:
        return None
    lines = where.get("lines")
    offset = line_in_cell - 1
    line = lines[offset] if lines and 0 <= offset < len(lines) else where["line"] + offset
    return Position(where["path"], line, where.get("cell"))


def annotate_cell_frames(trace: str, by_count: dict[int, object]) -> str:
    """Append ``[at chapters/x.md:LINE]`` to every ``Cell In[N], line L`` frame of a known cell."""
    lines = []
    for text in trace.splitlines():
        match = CELL_FRAME.search(text)
        where = chapter_line(by_count.get(int(match.group(1))), int(match.group(2))) if match else None
        lines.append(f"{text}  [at {where}]" if where is not None else text)
    return "\n".join(lines)


def failure_positions(trace: str, by_count: dict[int, object]) -> tuple[Position | None, Position | None]:
    """The innermost frame in the chapter and the call site in the failing cell (None when not known)."""
    frames = [(int(n), int(line)) for n, line in CELL_FRAME.findall(trace) if int(n) in by_count]
    if not frames:
        return None, None
    inner = chapter_line(by_count[frames[-1][0]], frames[-1][1])
    call = chapter_line(by_count[frames[0][0]], frames[0][1])
    return inner, call
