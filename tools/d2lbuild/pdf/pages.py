"""One framework's pages for the PDF: the website's page writer, given that tab's notebooks only.

With a single tab every block is shared, so the pages have no tab sets; a section without a notebook in the
tab keeps its prose, under a note. Outputs are made printable: HTML left out where text is there, very long
text cut with a note. The root page's tocs are preceded by LaTeX that numbers chapters only in numbered tocs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
import struct
import zlib
from pathlib import Path

from ..config import Config
from ..formats import is_markdown
from ..hashing import FULL_LENGTH, digest_of
from ..html.api import API_FILE, API_STORE
from ..html.markup import Converted
from ..html.merge import Page, Prose, SectionNotebooks, merge
from ..html.render import PageLinks, render_page
from ..html.site import CACHE_NAME, SiteWriter, _PageCache, chapter_page, load_section, missing_image, page_name, sections
from ..layout import PAGE_SUFFIX, SVG_CACHE, pdf_dir, pdf_site_dir
from ..notebook import DISPLAY_NAMES
from .latex_conf import conf_text
from .settings import PdfSettings

MAX_OUTPUT_LINES = 60
MAX_LINE_CHARS = 2000
REFERENCES = "_references"  # the page the site writes with the bibliography when no chapter lists it
TOCTREE = re.compile(r"^(`{3,}|:{3,})\{toctree\}")


def tab_dir(tab: str) -> str:
    return pdf_dir(tab)


class PdfSiteWriter(SiteWriter):
    """Writes build/pdf/TAB/site: the website's pages for one tab, and a conf.py for Sphinx's LaTeX builder."""

    def __init__(self, root: Path, tab: str, settings: PdfSettings, config: Config | None = None):
        super().__init__(root, config)
        self.tab = tab
        self.pdf = settings
        self.site = root / pdf_site_dir(tab)
        self.cache = _PageCache(self.site / CACHE_NAME)
        self.index_page = sections(self.config)[0][0]

    def page_key(self, chapter: str, flags: tuple[bool, ...]) -> str:
        return super().page_key(chapter, (*flags, self.tab, _pdf_code_digest()))  # type: ignore[arg-type]

    def make_page(self, chapter: str, numbered: bool, orphan: bool, citations: bool) -> tuple[list[Converted], list[int]]:
        page, missing = self.tab_page(chapter)
        if page is None:
            return [], []
        rendered = render_page(page, PageLinks(()), self.save_image, numbered, citations)
        lines = list(zip(rendered.text.rstrip("\n").split("\n"), rendered.line_numbers, strict=True))
        if chapter == self.index_page:
            lines = number_chapters(lines, numbered)
        if missing:
            lines = after_title(lines, f"This section has no {DISPLAY_NAMES.get(self.tab, self.tab)} version: only its text is shown.")
        front = "---\norphan: true\n---\n\n" if orphan else ""
        self.emit(page_name(chapter) + PAGE_SUFFIX, front + "\n".join(text for text, _ in lines) + "\n")
        self.report.pages.append(chapter)
        return rendered.found, [1] * front.count("\n") + [number for _, number in lines]

    def tab_page(self, chapter: str) -> tuple[Page | None, bool]:
        """The section as this tab shows it (None for a file that has no page), and whether the tab has no notebook of it."""
        section = load_section(self.root, (self.tab,), chapter)
        if section.notebooks:
            return dataclasses.replace(merge(printable(section)), not_run=()), False
        others = load_section(self.root, self.config.tabs, chapter)
        if others.notebooks:
            shared = merge(others)
            blocks = tuple(block for block in shared.blocks if isinstance(block, Prose))
            return Page(chapter, (self.tab,), (), (), blocks), True
        if is_markdown(chapter):
            return chapter_page(chapter, (self.root / chapter).read_text(encoding="utf-8", errors="replace"), (self.tab,)), False
        return None, False

    def links(self, chapter: str, page: Page, section: SectionNotebooks | None = None) -> PageLinks:
        """Paper has no download or edit links."""
        return PageLinks(())

    def conf(self, root_doc: str, bibliography: bool) -> str:
        """Sphinx's LaTeX settings; a book that lists its bibliography nowhere gets the page the site made for it."""
        svg_cache = "../" * (tab_dir(self.tab).count("/") + 1) + SVG_CACHE
        appendices = [REFERENCES] if self.site / f"{REFERENCES}.md" in self.kept else []
        return conf_text(self.pdf, self.tab, root_doc, self.settings.bibfile if bibliography else None, svg_cache, appendices)

    def emit(self, relpath: str, text: str) -> None:
        """The API pages' names (the site's ``_api.json``) of this tab's library only."""
        if relpath == API_FILE:
            data = API_STORE.loads(text)
            if data is not None:
                text = API_STORE.dumps({tab: value for tab, value in data.items() if tab == self.tab})
        super().emit(relpath, text)

    def emit_bytes(self, relpath: str, payload: bytes) -> None:
        """The website's stand-in for a missing PNG or JPEG, framed so that it shows on paper."""
        if not relpath.lower().endswith(".svg") and payload == missing_image(relpath):
            payload = framed_png(320, 80)
        super().emit_bytes(relpath, payload)

    def assets(self) -> None:
        """The PDF has no scripts or styles of the website."""

    def not_run(self, chapters: list[str]) -> tuple[int, int]:
        """How many of this tab's sections with code were not evaluated, and how many there are."""
        missing = total = 0
        for chapter in chapters:
            section = load_section(self.root, (self.tab,), chapter)
            notebook = section.notebooks.get(self.tab)
            if notebook is None or not any(cell.get("cell_type") == "code" for cell in notebook.get("cells", [])):
                continue
            total += 1
            missing += self.tab not in section.executed
        return missing, total


def printable(section: SectionNotebooks) -> SectionNotebooks:
    """The section's notebooks with outputs fit for paper: text instead of HTML, very long text cut."""
    notebooks = {}
    for tab, notebook in section.notebooks.items():
        notebook = copy.deepcopy(notebook)
        for cell in notebook.get("cells", []):
            if cell.get("cell_type") == "code" and isinstance(cell.get("outputs"), list):
                cell["outputs"] = [printable_output(output) for output in cell["outputs"] if isinstance(output, dict)]
        notebooks[tab] = notebook
    return dataclasses.replace(section, notebooks=notebooks)


def printable_output(output: dict) -> dict:
    kind = output.get("output_type")
    if kind == "stream":
        return {**output, "text": cut(_text(output.get("text", "")))}
    if kind == "error":
        return {**output, "traceback": [cut("\n".join(_text(line) for line in output.get("traceback", [])))]}
    data = output.get("data")
    if kind in ("execute_result", "display_data") and isinstance(data, dict):
        data = dict(data)
        if "text/html" in data and set(data) - {"text/html"}:
            data.pop("text/html")
        if "text/plain" in data:
            data["text/plain"] = cut(_text(data["text/plain"]))
        return {**output, "data": data}
    return output


def cut(text: str) -> str:
    """At most MAX_OUTPUT_LINES lines of at most MAX_LINE_CHARS characters; what is cut is said."""
    lines = text.split("\n")
    trailing = lines[-1] == ""
    if trailing:
        lines.pop()
    kept = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + f" [... {len(line) - MAX_LINE_CHARS} characters cut]"
            for line in lines[:MAX_OUTPUT_LINES]]
    if len(lines) > MAX_OUTPUT_LINES:
        kept.append(f"[... {len(lines) - MAX_OUTPUT_LINES} more lines cut]")
    return "\n".join(kept) + ("\n" if trailing else "")


def number_chapters(lines: list[tuple[str, int]], numbered_by_default: bool) -> list[tuple[str, int]]:
    """Before each toc of the root page: LaTeX that numbers its chapters or not, as the website does."""
    result: list[tuple[str, int]] = []
    for index, (text, number) in enumerate(lines):
        if TOCTREE.match(text):
            options = []
            for option, _ in lines[index + 1 :]:
                if not option.strip().startswith(":"):
                    break
                options.append(option.strip())
            numbered = numbered_by_default or any(option.startswith(":numbered:") for option in options)
            command = "\\dtwolnumbered" if numbered else "\\dtwolunnumbered"
            result += [("```{raw} latex", number), (command, number), ("```", number), ("", number)]
        result.append((text, number))
    return result


def after_title(lines: list[tuple[str, int]], note: str) -> list[tuple[str, int]]:
    """A note right below the page's first level-1 heading (at the top without one)."""
    at = next((index + 1 for index, (text, _) in enumerate(lines) if text.startswith("# ")), 0)
    number = lines[at - 1][1] if at else (lines[0][1] if lines else 1)
    block = [("", number), ("```{note}", number), (note, number), ("```", number), ("", number)]
    return lines[:at] + block + lines[at:]


def framed_png(width: int, height: int, border: int = 2) -> bytes:
    """A light grey PNG with a dark frame."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    edge = b"\0" + b"\x66" * width
    inner = b"\0" + b"\x66" * border + b"\xee" * (width - 2 * border) + b"\x66" * border
    rows = edge * border + inner * (height - 2 * border) + edge * border
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


@functools.cache
def _pdf_code_digest() -> str:
    """The pdf package's own source: a new version of it writes every page again."""
    files = sorted(Path(__file__).parent.glob("*.py"))
    return digest_of((part for path in files for part in (path.name, path.read_bytes())), length=FULL_LENGTH)
