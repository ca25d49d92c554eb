"""Write a merged page as MyST: shared prose and code once, tab sets synced in the group "framework"."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from ..notebook import DISPLAY_NAMES
from .markup import Converted, to_myst
from .merge import Code, Page, Prose, TabSet, has_code
from .outputs import SaveImage, render_outputs

SYNC_GROUP = "framework"
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")


@dataclass(frozen=True)
class PageLinks:
    """The links at the top of a page: each tab's notebook (relative URLs) and the chapter's source."""

    notebooks: tuple[tuple[str, str], ...]
    edit: str | None = None
    services: tuple[tuple[str, str, str], ...] = ()  # (tab, label, URL): "Open in Colab" and the like


@dataclass
class RenderedPage:
    text: str
    found: list[Converted] = field(default_factory=list)
    options: tuple[bool, bool] = (False, True)  # toctrees numbered, citations resolvable
    line_numbers: list[int] = field(default_factory=list)  # the chapter line of each line of text


# A piece of the page: its lines, each with the chapter line it came from (0: written by d2lbuild).
Numbered = list[tuple[str, int]]


def display_name(tab: str) -> str:
    return DISPLAY_NAMES.get(tab, tab)


def render_page(page: Page, links: PageLinks, save_image: SaveImage, numbered_toc: bool = False, citations: bool = True) -> RenderedPage:
    """The MyST text of a page, the chapter line of each of its lines, and the labels and references of its prose."""
    rendered = RenderedPage("", options=(numbered_toc, citations))
    lines = _joined([_block(block, rendered, save_image) for block in page.blocks])
    code = has_code(page)
    head = _numbered("\n\n".join(_notes(page, code) + [_links_html(links, page.tabs, code)]), 0)
    at = _after_title([text for text, _ in lines])
    lines = _stripped(lines[:at] + [("", 0)] + head + [("", 0)] + lines[at:])
    rendered.text = "\n".join(text for text, _ in lines) + "\n"
    rendered.line_numbers = _filled([number for _, number in lines])
    return rendered


def _numbered(text: str, number: int) -> Numbered:
    return [(line, number) for line in text.split("\n")]


def _joined(parts: list[Numbered]) -> Numbered:
    """Parts one blank line apart; empty parts are left out."""
    joined: Numbered = []
    for part in parts:
        if not part:
            continue
        if joined:
            joined.append(("", joined[-1][1]))
        joined.extend(part)
    return joined


def _stripped(lines: Numbered) -> Numbered:
    """Without blank lines at the start and the end."""
    start, end = 0, len(lines)
    while start < end and not lines[start][0]:
        start += 1
    while end > start and not lines[end - 1][0]:
        end -= 1
    return lines[start:end]


def _filled(numbers: list[int]) -> list[int]:
    """A written line takes the chapter line of the line before it (of the first numbered line at the top)."""
    last = next((number for number in numbers if number), 1)
    filled = []
    for number in numbers:
        last = number or last
        filled.append(last)
    return filled


def _block(block, rendered: RenderedPage, save_image: SaveImage, in_tab: bool = False) -> Numbered:
    if isinstance(block, Prose):
        converted = to_myst(block.lines, *rendered.options)
        rendered.found.append(converted)
        lines = _stripped(list(zip(converted.text.split("\n"), converted.line_numbers, strict=True)))
        return _rubrics(lines) if in_tab else lines
    if isinstance(block, Code):
        return _numbered(_code(block, save_image), block.line)
    return _tab_set(block, rendered, save_image)


def _code(code: Code, save_image: SaveImage) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code.source)), default=0)
    fence = "`" * max(3, longest + 1)
    parts = [f"{fence}python\n{code.source.rstrip()}\n{fence}"]
    outputs = render_outputs(code.outputs, save_image)
    if outputs:
        parts.append(outputs)
    return "\n\n".join(parts)


def _tab_set(tab_set: TabSet, rendered: RenderedPage, save_image: SaveImage) -> Numbered:
    bodies = [(tab, _joined([_block(block, rendered, save_image, in_tab=True) for block in blocks])) for tab, blocks in tab_set.parts]
    if not any(body for _, body in bodies):
        return []  # nothing to show in any tab (d2l-en's per-tab currentmodule blocks)
    items: list[Numbered] = []
    for tab, body in bodies:
        first = next((number for _, number in body if number), 0)
        if not body:
            text = f'<p class="d2l-not-available">Not available in {html.escape(display_name(tab))}.</p>'
            body = _numbered(f"```{{raw}} html\n{text}\n```", 0)
        head = _numbered(f"::::{{tab-item}} {display_name(tab)}\n:sync: {tab}\n", first)
        items.append(head + body + [("::::", 0)])
    head = _numbered(f":::::{{tab-set}}\n:sync-group: {SYNC_GROUP}\n", 0)
    return head + _joined(items) + [(":::::", 0)]


def _rubrics(lines: Numbered) -> Numbered:
    """Headings as rubrics of the same level: a section cannot start inside a tab (Sphinx would drop it)."""
    result: Numbered = []
    fence = ""
    for text, number in lines:
        match = FENCE.match(text)
        if fence:
            fence = "" if text.strip() == fence else fence
        elif match:
            fence = match.group(1)
        elif heading := HEADING.match(text):
            level, title = len(heading.group(1)), heading.group(2)
            result.extend([(f"```{{rubric}} {title}", number), (f":heading-level: {level}", number), ("```", number)])
            continue
        result.append((text, number))
    return result


def _notes(page: Page, code: bool) -> list[str]:
    """A note about tabs without this section; on pages with code, one line per framework that was not run,
    shown while that framework is selected."""
    notes = []
    if page.missing:
        names = _names(page.missing)
        notes.append(f"```{{note}}\nThis section has no {names} version; its code is shown for {_names(page.tabs)}.\n```")
    if page.not_run and code:
        lines = [
            f'<p class="d2l-not-run" data-framework="{tab}"{"" if tab == page.tabs[0] else " hidden"}>'
            f"The {html.escape(display_name(tab))} code of this section was not run: it is shown without outputs.</p>"
            for tab in page.not_run
        ]
        notes.append("```{raw} html\n" + "\n".join(lines) + "\n```")
    return notes


def _names(tabs) -> str:
    names = [display_name(tab) for tab in tabs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _links_html(links: PageLinks, tabs: tuple[str, ...], code: bool) -> str:
    """The notebook and service links of the selected framework (on pages with code), and the edit link."""
    first = tabs[0] if tabs else None
    anchors = []
    if code:
        anchors += [
            f'<a class="d2l-notebook-link" data-framework="{tab}" href="{html.escape(url)}" download{"" if tab == first else " hidden"}>'
            f"Download notebook ({html.escape(display_name(tab))})</a>"
            for tab, url in links.notebooks
        ]
        anchors += [
            f'<a class="d2l-service-link" data-framework="{tab}" href="{html.escape(url)}"{"" if tab == first else " hidden"}>'
            f"{html.escape(label)} ({html.escape(display_name(tab))})</a>"
            for tab, label, url in links.services
        ]
    if links.edit:
        anchors.append(f'<a class="d2l-edit-link" href="{html.escape(links.edit)}">Edit source</a>')
    if not anchors:
        return ""
    return "```{raw} html\n<div class=\"d2l-page-links\">\n" + "\n".join(anchors) + "\n</div>\n```"


def _after_title(lines: list[str]) -> int:
    """The index just after the page's first level-1 heading (0 when it has none)."""
    fence = ""
    for index, line in enumerate(lines):
        match = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence:
            fence = "" if line.strip() == fence else fence
        elif match:
            fence = match.group(1)
        elif line.startswith("# "):
            return index + 1
    return 0
