"""Turn what ../shared/compat/reference.sh made of a book into the small expected files the compatibility tests read.

    python tools/tests/compat_reference.py REFERENCE_DIR NAME [TAB/SECTION.ipynb ...]

writes ``data/compat/NAME.reference.txt`` (a digest of each library, and each notebook d2lbook makes with a digest
of its cells, so whole books are compared without keeping them) and, for each TAB/SECTION given, ``data/compat/NAME/TAB/SECTION.json``
(its cells, to compare cell by cell; ``null`` where d2lbook makes no notebook).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "compat"
WARNING_LINE = "#################   WARNING   ################"


def cells(notebook: dict) -> list[list[str]]:
    """What the comparison looks at: each cell's type and source (code without trailing spaces)."""
    found = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            source = "\n".join(line.rstrip() for line in source.split("\n"))
        found.append([cell["cell_type"], source])
    return found


def notebook_digest(notebook: dict) -> str:
    return hashlib.sha256(json.dumps(cells(notebook), ensure_ascii=False).encode()).hexdigest()[:12]


def without_generator_note(text: str) -> str:
    """A library less the comment lines right after its WARNING line (each tool writes its own there)."""
    if WARNING_LINE not in text:
        return text
    head, rest = text.split(WARNING_LINE, 1)
    lines = rest.split("\n")[1:]
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return head + WARNING_LINE + "\n" + "\n".join(lines)


def library_digest(text: str) -> str:
    return hashlib.sha256(without_generator_note(text).encode()).hexdigest()[:16]


def reference_lines(reference: Path) -> list[str]:
    """``library FILE DIGEST`` for each library, then ``PATH TAB:DIGEST ...`` for each notebook path, naming the
    tabs d2lbook made it in."""
    lines = [f"library {path.name} {library_digest(path.read_text(encoding='utf-8'))}" for path in sorted((reference / "lib").glob("*.py"))]
    made: dict[str, list[str]] = {}
    for tab_dir in sorted((reference / "notebooks").iterdir()):
        for path in sorted(tab_dir.rglob("*.ipynb")):
            if path.stat().st_size:  # an empty file: no notebook
                notebook = json.loads(path.read_text(encoding="utf-8"))
                made.setdefault(path.relative_to(tab_dir).as_posix(), []).append(f"{tab_dir.name}:{notebook_digest(notebook)}")
    return lines + [" ".join([path, *tabs]) for path, tabs in sorted(made.items())]


def main(reference: Path, name: str, sections: list[str]) -> None:
    (DATA / f"{name}.reference.txt").write_text("\n".join(reference_lines(reference)) + "\n", encoding="utf-8")
    for section in sections:
        source = reference / "notebooks" / section
        expected = cells(json.loads(source.read_text(encoding="utf-8"))) if source.stat().st_size else None
        target = (DATA / name / section).with_suffix(".json")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(expected, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:])
