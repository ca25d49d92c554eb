"""d2lbook's Markdown marks turned into MyST: labels, references, citations, figures, toc and eval_rst blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .merge import Line

ROLE = re.compile(r":(numref|ref|eqref|cite|citet|citep|label|eqlabel|width|height):`([^`]+)`")
ALONE = re.compile(r"^\s*:(label|eqlabel|width|height):`([^`]+)`\s*$")
IMAGE = re.compile(r"^\s*!\[(?P<caption>[^\]]*)\]\((?P<src>[^)\s]+)(?:\s+\"[^\"]*\")?\)\s*$")
FENCE_OPEN = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*)$")
MYST_ROLES = {"numref": "numref", "ref": "ref", "eqref": "eq", "cite": "cite:p", "citep": "cite:p", "citet": "cite:t"}
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


@dataclass
class _Figure:
    src: str
    caption: str
    options: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        if not self.caption and "name" not in self.options:
            head = f"```{{image}} {self.src}"
            return "\n".join([head, *(f":{k}: {v}" for k, v in self.options.items() if k != "name"), "```"])
        options = [f":{key}: {value}" for key, value in self.options.items()]
        return "\n".join([f"```{{figure}} {self.src}", *options, "", self.caption, "```"])


class _Converter:
    def __init__(self, numbered_toc: bool, citations: bool):
        self.out: list[str | _Figure] = []
        self.result = Converted("")
        self.numbered_toc = numbered_toc
        self.citations = citations

    def convert(self, lines: tuple[Line, ...] | list[Line]) -> Converted:
        index = 0
        while index < len(lines):
            index = self.line(lines, index)
        self.result.text = "\n".join(part.render() if isinstance(part, _Figure) else part for part in self.out)
        return self.result

    def line(self, lines, index: int) -> int:
        line = lines[index]
        fence = FENCE_OPEN.match(line.text)
        if fence:
            return self.fenced(lines, index, fence)
        alone = ALONE.match(line.text)
        if alone:
            self.attach(alone.group(1), alone.group(2).strip(), line.number)
            return index + 1
        image = IMAGE.match(line.text)
        if image:
            src = image.group("src")
            self.result.images.append((src, line.number))
            self.out.append(_Figure(src, self.roles(image.group("caption"), line.number)))
            return index + 1
        self.out.append(self.roles(line.text, line.number))
        return index + 1

    def fenced(self, lines, index: int, fence: re.Match) -> int:
        indent, run, info = fence.group(1), fence.group(2), fence.group(3)
        end = index + 1
        while end < len(lines) and lines[end].text.strip() != run:
            end += 1
        body = [line.text for line in lines[index + 1 : end]]
        if info == "toc":
            self.out.append(self.toctree(run, body))
        elif info == "eval_rst":
            self.out.extend([f"{indent}{run}{{eval-rst}}", *body, f"{indent}{run}"])
        else:
            self.out.extend([lines[index].text, *body, f"{indent}{run}"])
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
        else:
            self.out.insert(self.paragraph_start(), f"({value})=")

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
        for index in range(len(self.out) - 1, -1, -1):
            part = self.out[index]
            if isinstance(part, str) and part.strip():
                if part.rstrip().endswith("$$"):
                    self.out[index] = f"{part.rstrip()} ({label})"
                return

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
