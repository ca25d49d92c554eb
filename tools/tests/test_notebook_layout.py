"""Markdown in notebooks is laid out as d2lbook's reader gives it: around fenced blocks, and per tab block."""

from __future__ import annotations

import pytest

from d2lbuild.notebook import markdown_layout


@pytest.mark.parametrize(
    ("text", "shared", "laid_out"),
    [
        # shared prose: cut at ``` fences, each piece and each fence's inside trimmed, one blank line apart
        ("a\n```bash\n\nx\n\n```\nb", True, "a\n\n```bash\nx\n```\n\nb"),
        ("a\n``` bash\nx\n```", True, "a\n\n```bash\nx\n```"),  # the info string moves next to the backticks
        # a ~~~ fence (and any fence in a tab block): one blank line before it, two after it
        ("a\n~~~\nx\n~~~\nb", True, "a\n\n~~~\nx\n~~~\n\n\nb"),
        ("a\n```bash\nx\n```\nb", False, "a\n\n```bash\nx\n```\n\n\nb"),
        ("a\n```bash\n\nx\n```\n\n\n\nb", False, "a\n\n```bash\n\nx\n```\n\n\nb"),
        # prose alone: trimmed, blank lines inside kept
        ("\n\na\n\n\nb\n\n", True, "a\n\n\nb"),
        ("````\n```\nq\n```\n````\nQ", True, "````\n```\nq\n```\n````\n\nQ"),
    ],
)
def test_markdown_around_fences(text, shared, laid_out):
    assert "\n".join(markdown_layout(text.split("\n"), shared)) == laid_out
