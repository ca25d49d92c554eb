"""Sphinx extension of the PDF: SVG images converted to PDF by rsvg-convert, and page positions kept in the .tex.

Before each block (paragraph, code, math, figure, table, section) the LaTeX writer puts a comment line
``%d2l@PAGE:LINE``, so a LaTeX error at a line of the .tex is traced back to the page line, then to the
chapter line. SVG conversions are kept by content in a cache shared by the tabs' builds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.utils import get_source_line
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.transforms.post_transforms.images import ImageConverter
from sphinx.writers.latex import LaTeXTranslator

from ..hashing import digest

MARK = "%d2l@"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
MARKED = (nodes.paragraph, nodes.literal_block, nodes.math_block, nodes.figure, nodes.table, nodes.section, nodes.image,
          nodes.bullet_list, nodes.enumerated_list, nodes.block_quote, nodes.admonition, nodes.rubric)


class RemoteImages(SphinxPostTransform):
    """An image on the web becomes a link to it: nothing is downloaded while the book is built."""

    default_priority = 50  # before Sphinx's ImageDownloader (100)
    builders = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(nodes.image)):
            uri = node.get("uri", "")
            if "://" in uri:
                link = nodes.reference("", f"Image: {uri}", refuri=uri)
                inline = isinstance(node.parent, nodes.TextElement)
                node.replace_self(nodes.emphasis("", "", link) if inline else nodes.paragraph("", "", link))


class PrintableMath(SphinxPostTransform):
    """Math as LaTeX (not MathJax) needs it: CJK text in \\text{}, where xeCJK does not reach."""

    default_priority = 50
    builders = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(nodes.math)) + list(self.document.findall(nodes.math_block)):
            text = node.astext()
            if CJK.search(text):
                node.children = [nodes.Text(CJK.sub(lambda match: f"\\text{{{match.group()}}}", text))]


class NoTabLabels(SphinxPostTransform):
    """A tab set (the API pages' names) holds this tab only: its label, a widget's, is left out."""

    default_priority = 50
    builders = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(nodes.rubric)):
            if "sd-tab-label" in node.get("classes", []):
                node.parent.remove(node)


class SvgToPdf(ImageConverter):
    """SVG -> PDF with librsvg's rsvg-convert (Debian's librsvg2-bin)."""

    conversion_rules = [("image/svg+xml", "application/pdf")]

    def is_available(self) -> bool:
        return shutil.which("rsvg-convert") is not None

    def convert(self, _from: str | os.PathLike[str], _to: str | os.PathLike[str]) -> bool:
        source = Path(_from)
        cache = Path(self.env.srcdir, self.config.d2l_svg_cache)
        try:
            payload = source.read_bytes()
        except OSError:
            return False
        cached = cache / (digest(payload, length=24) + ".pdf")
        if not cached.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.part")
            done = subprocess.run(["rsvg-convert", "-f", "pdf", "-o", str(partial), str(source)], capture_output=True, check=False)
            if done.returncode != 0:
                partial.unlink(missing_ok=True)
                return False
            partial.replace(cached)
        Path(_to).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, _to)
        return True


class MarkedLaTeXTranslator(LaTeXTranslator):
    """Sphinx's LaTeX writer, with a comment naming the page line before each block."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.last_mark = ""

    def dispatch_visit(self, node: nodes.Node) -> None:
        if not isinstance(node, MARKED) or self.table or self.in_title or self.in_caption or self.in_footnote or self.in_parsed_literal:
            super().dispatch_visit(node)
            return
        body, at = self.body, len(self.body)
        try:
            super().dispatch_visit(node)
        finally:
            if self.body is body:
                self.mark(node, at)

    def visit_number_reference(self, node: nodes.Element) -> None:
        """``Fig. 6.1.1`` as a link, followed by the page it is on (paper has no hover)."""
        try:
            super().visit_number_reference(node)
        except nodes.SkipNode:
            if not (self.in_title or self.in_caption):
                target = self.curfilestack[-1] + ":" + node["refid"] if node.get("refid") else node.get("refuri", "")[1:].replace("#", ":")
                self.body.append(f" ({self.hyperpageref(target)})")
            raise

    def mark(self, node: nodes.Node, at: int) -> None:
        """Put the mark where the node's LaTeX starts, as a line of its own that changes nothing else.

        After a line end it is a comment line; before LaTeX that starts with a line end it goes in front of
        that line end, which then ends the comment. Elsewhere no mark is put: a comment could join two words.
        """
        source, line = get_source_line(node)
        if not source or not line:
            return
        page = os.path.relpath(source, self.builder.srcdir).replace(os.sep, "/")
        mark = f"{MARK}{page}:{line}"
        if page.startswith("..") or ":" in page or mark == self.last_mark:
            return
        before = "".join(self.body[at - 1 : at])
        after = "".join(self.body[at : at + 1])
        if not before or before.endswith("\n"):
            self.body.insert(at, mark + "\n")
        elif after.startswith("\n"):
            self.body.insert(at, "\n" + mark)
        else:
            return
        self.last_mark = mark


def setup(app) -> dict:
    app.add_config_value("d2l_svg_cache", "../svg-cache", "env")
    app.add_post_transform(RemoteImages)
    app.add_post_transform(PrintableMath)
    app.add_post_transform(NoTabLabels)
    app.add_post_transform(SvgToPdf)
    app.set_translator("latex", MarkedLaTeXTranslator, override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
