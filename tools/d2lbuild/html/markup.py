"""d2lbook's Markdown marks turned into MyST: labels, references, citations, figures, toc and eval_rst blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .merge import Line

ROLE = re.compile(r":(numref|ref|eqref|cite|citet|citep|label|eqlabel|width|height):`([^`]+)`")
ALONE = re.compile(r"^\s*:(label|eqlabel|width|height|bibliography):`([^`]+)`\s*$")
IMAGE = re.compile(r"^\s*!\[(?P<caption>.*)\]\((?P<src>[^)\s]+)(?:\s+\"[^\"]*\")?\)\s*$", re.DOTALL)
IMAGE_START = re.compile(r"^\s*!\[")
TABLE_CAPTION = re.compile(r"^:(?![a-z_]+:`)(?P<caption>[^:].*)$")
EQUATION_LABEL = re.compile(r"^(?P<math>.*\$\$)\s*:eqlabel:`(?P<label>[^`]+)`\s*$")
CURRENT_MODULE = re.compile(r"^\s*\.\. (?:py:)?currentmodule::")
FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*)$")
# d2lbook's slide marks, (**text**) and [**text**]: the page shows the bold text without the brackets.
SLIDE_MARK = re.compile(r"[(\[](\*\*(?:(?!\*\*).)+\*\*)[)\]](?!\()", re.DOTALL)
MYST_ROLES = {"numref": "numref", "ref": "ref", "eqref": "eq", "cite": "cite:p", "citep": "cite:p", "citet": "cite:t"}
FILE_OPTION = re.compile(r"^\s+:file:\s*(\S+)\s*$")
TOC_OPTIONS = (":maxdepth:", ":numbered:", ":titlesonly:", ":glob:", ":hidden:", ":caption:", ":name:")


@dataclass(frozen=True)
class Reference:
    """A cross-reference or a citation found in the prose, with its chapter line."""

    role: str
    target: str
    line: int


@dataclass
class Converted:
    """MyST text and what it defines and refers to."""

    text: str
    labels: list[tuple[str, int]] = field(default_factory=list)
    equations: list[tuple[str, int]] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    images: list[tuple[str, int]] = field(default_factory=list)
    files: list[tuple[str, int]] = field(default_factory=list)  # files that directives read (``:file:`` of raw)
    unnumbered: list[str] = field(default_factory=list)  # labels on a paragraph: no number, no title
    bibliography: bool = False  # the text lists the bibliography
    line_numbers: list[int] = field(default_factory=list)  # the chapter line of each line of text


@dataclass
class _Figure:
    src: str
    caption: str
    options: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        alt = f":alt: {alt_text(self.caption, self.src)}"
        if not self.caption and "name" not in self.options:
            head = f"```{{image}} {self.src}"
            return "\n".join([head, alt, *(f":{k}: {v}" for k, v in self.options.items() if k != "name"), "```"])
        options = [alt] + [f":{key}: {value}" for key, value in self.options.items()]
        return "\n".join([f"```{{figure}} {self.src}", *options, "", self.caption, "```"])


def alt_text(caption: str, src: str) -> str:
    """An image's alternative text: its caption as plain text (roles, math and markup left out), else its file's name in words."""
    text = re.sub(r"\{\w+\}`([^`]*)`|:\w+:`([^`]*)`", lambda m: m.group(1) or m.group(2) or "", caption)
    text = re.sub(r"\$+([^$]*)\$+", r"\1", text)
    text = re.sub(r"\]\([^)]*\)|[*_`#\[\]]|<[^>]+>", "", text)
    text = " ".join(text.split())
    if not text:
        text = re.sub(r"[-_]+", " ", src.rsplit("/", 1)[-1].rsplit(".", 1)[0]).strip() or "image"
    return text


class _Converter:
    def __init__(self, numbered_toc: bool, citations: bool):
        self.out: list[str | _Figure] = []
        self.numbers: list[int] = []  # the chapter line of each part of out
        self.current = 0
        self.result = Converted("")
        self.numbered_toc = numbered_toc
        self.citations = citations

    def convert(self, lines: tuple[Line, ...] | list[Line]) -> Converted:
        index = 0
        while index < len(lines):
            index = self.line(lines, index)
        texts = [part.render() if isinstance(part, _Figure) else part for part in self.out]
        self.result.text = SLIDE_MARK.sub(r"\1", "\n".join(texts))
        self.result.line_numbers = [number for text, number in zip(texts, self.numbers, strict=True) for _ in range(text.count("\n") + 1)]
        return self.result

    def put(self, *parts: str | _Figure) -> None:
        """Append parts made from the current chapter line."""
        self.out.extend(parts)
        self.numbers.extend([self.current] * len(parts))

    def put_at(self, index: int, part: str, number: int) -> None:
        self.out.insert(index, part)
        self.numbers.insert(index, number)

    def line(self, lines, index: int) -> int:
        line = lines[index]
        self.current = line.number
        fence = FENCE_OPEN.match(line.text)
        if fence:
            return self.fenced(lines, index, fence)
        alone = ALONE.match(line.text)
        if alone:
            self.attach(alone.group(1), alone.group(2).strip(), line.number)
            return index + 1
        if IMAGE_START.match(line.text):
            end = self.image(lines, index)
            if end is not None:
                return end
        caption = TABLE_CAPTION.match(line.text)
        if caption and self.table_follows(lines, index + 1):
            return self.table(lines, index, caption.group("caption").strip())
        equation = EQUATION_LABEL.match(line.text)
        if equation:
            self.put(equation.group("math"))
            self.attach("eqlabel", equation.group("label").strip(), line.number)
            return index + 1
        self.put(self.roles(line.text, line.number))
        return index + 1

    def image(self, lines, index: int) -> int | None:
        """A figure ``![caption](src)`` alone in its paragraph; the caption may span lines."""
        end = index
        while end < len(lines) and lines[end].text.strip():
            match = IMAGE.match("\n".join(line.text for line in lines[index : end + 1]))
            if match:
                src = match.group("src")
                caption = " ".join(match.group("caption").split())
                self.result.images.append((src, lines[index].number))
                self.put(_Figure(src, self.roles(caption, lines[index].number)))
                return end + 1
            end += 1
        return None

    def table_follows(self, lines, index: int) -> bool:
        """Whether a table comes next, after label marks and blank lines (d2lbook puts its caption above)."""
        while index < len(lines) and (not lines[index].text.strip() or ALONE.match(lines[index].text)):
            index += 1
        return index < len(lines) and lines[index].text.lstrip().startswith("|")

    def table(self, lines, index: int, caption: str) -> int:
        """``:Caption``, ``:label:`tab_x```, then a pipe table: a numbered table directive."""
        options, index = [], index + 1
        while not lines[index].text.lstrip().startswith("|"):
            mark = ALONE.match(lines[index].text)
            if mark and mark.group(1) == "label":
                self.result.labels.append((mark.group(2).strip(), lines[index].number))
                options.append(f":name: {mark.group(2).strip()}")
            index += 1
        body = []
        while index < len(lines) and lines[index].text.lstrip().startswith("|"):
            body.append((self.roles(lines[index].text, lines[index].number), lines[index].number))
            index += 1
        mark = ALONE.match(lines[index].text) if index < len(lines) else None
        if mark and mark.group(1) == "label" and not options:  # the label may also follow the table
            self.result.labels.append((mark.group(2).strip(), lines[index].number))
            options.append(f":name: {mark.group(2).strip()}")
            index += 1
        self.put("", f"```{{table}} {self.roles(caption, lines[index - 1].number)}", *options, "")
        for text, number in body:
            self.current = number
            self.put(text)
        self.put("```", "")
        return index

    def fenced(self, lines, index: int, fence: re.Match) -> int:
        indent, run, info = fence.group(1), fence.group(2), fence.group(3)
        end = index + 1
        while end < len(lines) and lines[end].text.strip() != run:
            end += 1
        body = [line.text for line in lines[index + 1 : end]]
        if info == "toc":
            self.put(self.toctree(run, body))
            return end + 1
        if info == "eval_rst" and all(not line.strip() or CURRENT_MODULE.match(line) for line in body):
            self.put("")  # the API pages name each tab's module themselves: nothing to show
            return end + 1
        if info == "eval_rst":
            self.result.bibliography |= any(".. bibliography::" in line for line in body)
            self.put(f"{indent}{run}{{eval-rst}}")
        else:
            self.put(lines[index].text)
        for line in lines[index + 1 : end]:
            self.current = line.number
            self.put(line.text)
            option = FILE_OPTION.match(line.text)
            if info == "eval_rst" and option:
                self.result.files.append((option.group(1), line.number))
        self.current = lines[end].number if end < len(lines) else self.current
        self.put(f"{indent}{run}")
        return end + 1

    def toctree(self, run: str, body: list[str]) -> str:
        options = [line.strip() for line in body if line.strip().startswith(":")]
        entries = [line.strip() for line in body if line.strip() and not line.strip().startswith(":") and "://" not in line]
        options = [option for option in options if option.startswith(TOC_OPTIONS)]
        if self.numbered_toc and not any(option.startswith(":numbered:") for option in options):
            options.append(":numbered:")
        return "\n".join([f"{run}{{toctree}}", *options, "", *entries, run])

    def attach(self, mark: str, value: str, number: int) -> None:
        """A mark alone on its line names or sizes what precedes it."""
        previous = self.previous()
        if mark == "bibliography":  # d2lbook's references page: the works cited anywhere in the book
            if self.citations:  # without a bibliography file (a warning says so) there is nothing to list
                self.put("```{bibliography}", "```")
            self.result.bibliography = True
            return
        if mark in ("width", "height"):
            if isinstance(previous, _Figure):
                previous.options[mark] = value
            return
        if mark == "eqlabel":
            self.result.equations.append((value, number))
            self.label_equation(value)
            return
        self.result.labels.append((value, number))
        if isinstance(previous, _Figure):
            previous.options["name"] = value
            return
        start = self.paragraph_start()
        if not (start < len(self.out) and isinstance(self.out[start], str) and self.out[start].lstrip().startswith("#")):
            self.result.unnumbered.append(value)
        self.put_at(start, f"({value})=", self.numbers[start] if start < len(self.numbers) else number)

    def previous(self):
        for part in reversed(self.out):
            if isinstance(part, _Figure) or part.strip():
                return part
        return None

    def paragraph_start(self) -> int:
        """Where the heading or paragraph before the current line starts."""
        index = len(self.out)
        while index > 0 and isinstance(self.out[index - 1], str) and not self.out[index - 1].strip():
            index -= 1
        last = index - 1
        if last >= 0 and isinstance(self.out[last], str) and self.out[last].lstrip().startswith("#"):
            return last
        while index > 0 and isinstance(self.out[index - 1], str) and self.out[index - 1].strip():
            if self.out[index - 1].lstrip().startswith("#"):
                break
            index -= 1
        return index

    def label_equation(self, label: str) -> None:
        """Give the ``$$`` block just written a label; it must stand as a paragraph of its own."""
        for index in range(len(self.out) - 1, -1, -1):
            part = self.out[index]
            if isinstance(part, str) and part.strip():
                if part.rstrip().endswith("$$"):
                    self.out[index] = f"{part.rstrip()} ({label})"
                    self.separate_math(index)
                return

    def separate_math(self, last: int) -> None:
        first = last
        single = self.out[last].lstrip().startswith("$$") and self.out[last].count("$$") >= 2
        if not single:
            first = last - 1
            while first > 0 and not (isinstance(self.out[first], str) and self.out[first].lstrip().startswith("$$")):
                first -= 1
        self.put("")
        if first > 0 and isinstance(self.out[first - 1], str) and self.out[first - 1].strip():
            self.put_at(first, "", self.numbers[first])

    def roles(self, text: str, number: int) -> str:
        def replace(match: re.Match) -> str:
            role, target = match.group(1), match.group(2)
            if role not in MYST_ROLES:  # a mark inside a line, not alone on it: dropped, never shown as text
                return ""
            self.result.references.append(Reference(role, target, number))
            if role.startswith("cite") and not self.citations:
                return "[" + ", ".join(citation_keys(target)) + "]"
            return f"{{{MYST_ROLES[role]}}}`{target}`"

        return ROLE.sub(replace, text)


def to_myst(lines, numbered_toc: bool = False, citations: bool = True) -> Converted:
    """Convert d2lbook Markdown lines (with chapter line numbers) to MyST; without citations, keys are plain text."""
    return _Converter(numbered_toc, citations).convert(list(lines))


def reference_label(target: str) -> str:
    """The label a reference names: ``Title <label>`` names ``label``."""
    match = re.match(r"^.*<([^>]+)>$", target.strip())
    return (match.group(1) if match else target).strip()


def citation_keys(target: str) -> list[str]:
    return [key.strip() for key in target.split(",") if key.strip()]
