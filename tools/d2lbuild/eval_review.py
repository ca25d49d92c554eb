"""What the last eval of each tab says about where evaluation time goes: slow sections and GPU skips."""

from __future__ import annotations

from pathlib import Path

from .layout import report_path
from .report import REPORT_STORE

SLOW_SECONDS = 10.0  # a section is slow from here on
SLOWEST_SHOWN = 5


def eval_notes(root: Path, tabs: tuple[str, ...]) -> list[str]:
    """Lines for ``d2lbuild check``: per tab with a report, its slowest sections and those skipped for want of GPUs."""
    lines = []
    for tab in tabs:
        records = last_report(root / report_path(tab))
        if records is None:
            continue
        total = sum(seconds(record) for record in records)
        slow = sorted((r for r in records if seconds(r) >= SLOW_SECONDS), key=seconds, reverse=True)
        lines.append(f"eval {tab} (last report): {len(records)} sections, {total:.1f} s in all, {len(slow)} of {SLOW_SECONDS:g} s or more")
        for record in slow[:SLOWEST_SHOWN]:
            lines.append(f"  slow: {record['chapter']}  {seconds(record):.1f} s")
        for record in records:
            if record.get("status") == "skipped":
                lines.append(f"  skipped: {record['chapter']}: {str(record.get('reason', '')).split('skipped: ', 1)[-1]}")
    return lines


def last_report(path: Path) -> list[dict] | None:
    """The notebook records of a report, or None when there is none (or it is not one d2lbuild wrote)."""
    data = REPORT_STORE.read(path)
    if data is None:
        return None
    records = data["notebooks"]
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("chapter"), str)]


def seconds(record: dict) -> float:
    value = record.get("seconds")
    return float(value) if isinstance(value, (int, float)) else 0.0
