"""Code cell outputs as Jupyter shows them, in MyST: text, images written as files, HTML, LaTeX, errors."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from ..hashing import digest

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
IMAGE_TYPES = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}
ORDER = ("image/svg+xml", "image/png", "image/jpeg", "image/gif", "text/html", "text/latex", "text/markdown", "text/plain")

# Writes an image's bytes under a name made of its content; returns the path the page uses.
SaveImage = Callable[[str, bytes], str]


OUTPUT_ALT = "Figure drawn by the code above"


def render_outputs(outputs, save_image: SaveImage) -> str:
    """MyST for a cell's outputs, in order; consecutive streams of one kind are joined like Jupyter does."""
    parts: list[str] = []
    for output in _joined_streams(outputs):
        part = render_output(output, save_image)
        if part:
            parts.append(part)
    return "\n\n".join(parts)


def render_output(output: dict, save_image: SaveImage) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return preformatted(_text(output.get("text", "")), "output stream stderr" if output.get("name") == "stderr" else "output")
    if kind == "error":
        text = "\n".join(_text(line) for line in output.get("traceback", [])) or f"{output.get('ename')}: {output.get('evalue')}"
        return preformatted(text, "output error")
    if kind in ("execute_result", "display_data"):
        return _rich(output.get("data", {}), save_image)
    return ""


def _rich(data: dict, save_image: SaveImage) -> str:
    for mime in ORDER:
        if mime not in data:
            continue
        value = _text(data[mime])
        if mime in IMAGE_TYPES:
            payload = value.encode() if mime == "image/svg+xml" else _decode(value)
            if payload is None:
                continue
            return f"```{{image}} {save_image(IMAGE_TYPES[mime], payload)}\n:class: output-image\n:alt: {OUTPUT_ALT}\n```"
        if mime == "text/html":
            return _fenced("{raw} html", value, "")
        if mime == "text/latex":
            return _fenced("{math}", _strip_dollars(value), "")
        if mime == "text/markdown":
            return value
        return preformatted(value, "output")
    return ""


def preformatted(text: str, css: str) -> str:
    """Text shown as it is, in a literal block with the given classes."""
    return _fenced("{code-block} none", ANSI.sub("", text).rstrip("\n"), f":class: {css}\n\n")


def _fenced(head: str, body: str, options: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{head}\n{options}{body}\n{fence}"


def _strip_dollars(text: str) -> str:
    text = text.strip()
    for mark in ("$$", "$"):
        if text.startswith(mark) and text.endswith(mark) and len(text) > 2 * len(mark):
            return text[len(mark) : -len(mark)].strip()
    return text


def _decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value)
    except (binascii.Error, ValueError):
        return None


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _joined_streams(outputs) -> list[dict]:
    joined: list[dict] = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if previous and output.get("output_type") == "stream" == previous.get("output_type") and output.get("name") == previous.get("name"):
            joined[-1] = {**previous, "text": _text(previous.get("text", "")) + _text(output.get("text", ""))}
        else:
            joined.append(output)
    return joined


def image_name(extension: str, payload: bytes) -> str:
    """A file name made of the image's content, so that equal images share a file."""
    return f"{digest(payload, length=16)}.{extension}"
