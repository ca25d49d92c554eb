"""Rewrite ``d2l.`` aliases in notebook code into the framework's own calls, as d2lbook does.

- fluent aliases: ``d2l.numpy(x)`` becomes ``x.detach().numpy()``;
- args aliases: ``d2l.astype(x, t)`` becomes ``tf.cast(x, t)`` (templates with ``x`` and ``args``);
- simple aliases: ``d2l.ones`` becomes ``torch.ones``; an alias written ``exp(`` rewrites only calls.

A call that is rewritten is printed again as astor, the printer d2lbook uses, prints it (``callprint``), so
that its spacing, brackets and line breaks come out as in d2lbook's notebooks; the rest of the cell keeps its text.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from .callprint import print_call
from .config import TabLibrary
from .fsutil import file_digest

RECEIVER = "_d2l_receiver_"
MAGIC = re.compile(r"^\s*[%!]")


class TextStore(Protocol):
    """Keeps texts computed from code by content, across runs (the build's formatting store)."""

    def kept_text(self, material: str, compute: Callable[[], str]) -> str: ...


def rewrite_aliases(text: str, library: TabLibrary, store: TextStore | None = None) -> str:
    """Apply the simple aliases, then the call aliases (fluent and args), then ``reverse_alias``.

    A cell whose call aliases need parsing is kept in ``store``, when given, by its text, the aliases
    and the printer of rewritten calls."""
    if "d2l." not in text:
        return text
    text = _rewrite_simple(text, library)
    calls = _calls(library)
    if calls and _call_pattern(tuple(name for name, _ in calls)).search(text):
        if store is None:
            text = _rewritten_calls(text, calls)
        else:
            material = f"aliases\0{rewriter_identity()}\0{calls!r}\0{text}"
            text = store.kept_text(material, functools.partial(_rewritten_calls, text, calls))
    return _rewrite_reverse(text, library)


@functools.lru_cache(maxsize=32)
def _calls(library: TabLibrary) -> tuple[tuple[str, tuple[str, str]], ...]:
    """The call aliases by name: ``(name, ("fluent" or "args", target))``, sorted."""
    calls = {name: ("fluent", target) for name, target in library.fluent_alias}
    calls.update({name: ("args", target) for name, target in library.args_alias})
    return tuple(sorted(calls.items()))


@functools.lru_cache(maxsize=8192)
def _rewritten_calls(text: str, calls: tuple[tuple[str, tuple[str, str]], ...]) -> str:
    """``_rewrite_calls``, once per text and aliases: sections repeat the same short cells."""
    return _rewrite_calls(text, dict(calls))


@functools.lru_cache(maxsize=1)
def rewriter_identity() -> str:
    """What identifies the printer of rewritten calls in a store: its source."""
    return file_digest(Path(__file__).with_name("callprint.py")) or "none"


def _rewrite_reverse(text: str, library: TabLibrary) -> str:
    """``reverse_alias`` entries replace their text literally, as d2lbook does (an entry written as a regular
    expression matches only that very text), but never inside a longer name: ``d2l.to`` leaves ``d2l.tokenize``."""
    for (source, _), (pattern, replacement) in zip(library.reverse_alias, _reverse_patterns(library.reverse_alias), strict=True):
        if source in text:
            text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=32)
def _reverse_patterns(entries: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    patterns = []
    for source, replacement in entries:
        tail = r"(?!\w)" if source[-1:].isidentifier() or source[-1:].isdigit() else ""
        patterns.append((re.compile(re.escape(source) + tail), replacement.replace("\\", "\\\\")))
    return tuple(patterns)


def _rewrite_simple(text: str, library: TabLibrary) -> str:
    """All simple aliases in one pass: longer names first; an alias written ``name(`` only before a call."""
    if not library.simple_alias:
        return text
    pattern, targets = _simple_pattern(library.simple_alias, library.lib_name)
    return pattern.sub(lambda match: targets[match.lastindex - 1], text)


@functools.lru_cache(maxsize=32)
def _simple_pattern(aliases: tuple[tuple[str, str], ...], lib_name: str) -> tuple[re.Pattern[str], list[str]]:
    """One pattern with a group per alias, and each group's replacement."""
    choices, targets = [], []
    for name, target in sorted(aliases, key=lambda pair: len(pair[0]), reverse=True):
        if name.endswith("("):
            choices.append("(" + re.escape(name[:-1]) + r")(?=\s*\()")
        else:
            choices.append("(" + re.escape(name) + r")\b")
        targets.append(f"{lib_name}.{target.removesuffix('(')}")
    # the literal first (with the look-behind after it) lets the regex engine jump from one "d2l." to the next
    return re.compile(r"d2l\.(?<![\w.]d2l\.)(?:" + "|".join(choices) + ")"), targets


def _rewrite_calls(text: str, calls: dict[str, tuple[str, str]]) -> str:
    """Replace each outermost aliased call by its rewritten form, printed as astor prints it."""
    candidates = _call_pattern(tuple(sorted(calls)))
    if not candidates.search(text):
        return text
    try:
        module = ast.parse("\n".join("#" + line if MAGIC.match(line) else line for line in text.split("\n")))
    except (SyntaxError, RecursionError):
        return text  # d2lbook leaves code it cannot parse as it is
    lines = {text.count("\n", 0, match.start()) + 1 for match in candidates.finditer(text)}
    found = [node for node in _nodes_on(module, lines) if _aliased(node, calls)]
    outermost = [node for node in found if not any(other is not node and _inside(node, other) for other in found)]
    if not outermost:
        return text
    offsets = _line_offsets(text)
    rewriter = _CallRewriter(calls)
    for node in sorted(outermost, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        start = _index(text, offsets, node.lineno, node.col_offset)
        end = _index(text, offsets, node.end_lineno, node.end_col_offset)
        new = print_call(rewriter.visit(node))  # the tree is this call's own: changed in place
        text = text[:start] + new + text[end:]
    return text


@functools.lru_cache(maxsize=32)
def _call_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """Finds text that may hold an aliased call (the parse decides)."""
    gap = r"[\s)\\]*"  # spaces, line breaks, continuations, the closing bracket of ``(d2l)``
    return re.compile(r"\bd2l" + gap + r"\." + gap + "(?:" + "|".join(map(re.escape, names)) + ")" + gap + r"\(")


def _nodes_on(tree: ast.AST, lines: set[int]) -> list[ast.AST]:
    """The nodes of ``tree`` whose lines include one of ``lines`` (subtrees that do not are skipped)."""
    found, pending = [], [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            first, last = getattr(child, "lineno", None), getattr(child, "end_lineno", None)
            if first is None or last is None or any(first <= line <= last for line in lines):
                found.append(child)
                pending.append(child)
    return found


def _aliased(node: ast.AST, calls: dict[str, tuple[str, str]]) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "d2l"
        and node.func.attr in calls
        and bool(node.args)
        and not isinstance(node.args[0], ast.Starred)
    )


def _inside(inner: ast.AST, outer: ast.AST) -> bool:
    start, end = (inner.lineno, inner.col_offset), (inner.end_lineno, inner.end_col_offset)
    return (outer.lineno, outer.col_offset) <= start and end <= (outer.end_lineno, outer.end_col_offset)


def _line_offsets(text: str) -> list[int]:
    offsets, total = [], 0
    for line in text.split("\n"):
        offsets.append(total)
        total += len(line) + 1
    return offsets


def _index(text: str, offsets: list[int], lineno: int, col: int) -> int:
    """String index of an ast position (columns count UTF-8 bytes)."""
    start = offsets[lineno - 1]
    line = text[start:].split("\n", 1)[0]
    return start + len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))


class _CallRewriter(ast.NodeTransformer):
    """Turns aliased calls (innermost first) into the framework's calls."""

    def __init__(self, calls: dict[str, tuple[str, str]]):
        self.calls = calls

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if not _aliased(node, self.calls):
            return node
        kind, target = self.calls[node.func.attr]
        receiver, rest = node.args[0], node.args[1:]
        if kind == "fluent":
            return _fluent(receiver, target, rest, node.keywords)
        return _from_template(receiver, target, rest, node.keywords)


def _fluent(receiver: ast.expr, target: str, rest: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr:
    """``receiver.target(rest)``; a target like ``detach().numpy`` chains calls."""
    new = ast.parse(f"{RECEIVER}.{target}()", mode="eval").body
    new.args, new.keywords = list(rest), list(keywords)
    return _Substitute({RECEIVER: receiver}).visit(new)


def _from_template(receiver: ast.expr, template: str, rest: list[ast.expr], keywords: list[ast.keyword]) -> ast.expr:
    """The template with ``x`` the first argument and ``args`` the others (keywords join the call holding ``args``)."""
    new = ast.parse(template, mode="eval").body
    return _Substitute({"x": receiver}, rest, keywords).visit(new)


class _Substitute(ast.NodeTransformer):
    def __init__(self, names: dict[str, ast.expr], rest: list[ast.expr] | None = None, keywords: list[ast.keyword] | None = None):
        self.names, self.rest, self.keywords = names, rest or [], keywords or []
        self.used: set[str] = set()

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id not in self.names:
            return node
        first_use = node.id not in self.used
        self.used.add(node.id)
        return self.names[node.id] if first_use else copy.deepcopy(self.names[node.id])

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if any(isinstance(arg, ast.Name) and arg.id == "args" for arg in node.args):
            args: list[ast.expr] = []
            for arg in node.args:
                args.extend(self.rest if isinstance(arg, ast.Name) and arg.id == "args" else [arg])
            node.args = args
            node.keywords = node.keywords + self.keywords
        return node
