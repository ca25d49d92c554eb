"""Print a rewritten call as d2lbook's printer (astor 0.8) lays it out, without astor.

d2lbook prints each call it rewrites for an alias with astor, so the library's and the notebooks' bytes depend on
astor's layout: Python's own spelling of the expression (what ``ast.unparse`` gives for the expressions below) and,
for a call longer than 79 characters, line breaks placed by astor's rule. That rule works on the pieces astor writes
(names, brackets, ``", "``, operators with their spaces, and an empty piece where a node could take brackets), so
``pieces`` writes the same pieces and ``lay_out`` breaks lines between them the same way.

Only what alias rewrites meet is covered: names, attributes, calls, numbers, strings, tuples, lists, dicts,
subscripts and slices, unary minus, arithmetic, comparisons and list comprehensions. Anything else gives None
(``print_call`` then falls back to ``ast.unparse``, exact whenever the call fits in 79 characters).
"""

from __future__ import annotations

import ast

MAX_LINE = 79
CONTINUATION = "    "
OPENING, CLOSING = frozenset("([{"), frozenset(")]}")
BINARY = {ast.Add: (" + ", 12), ast.Sub: (" - ", 12), ast.Mult: (" * ", 13), ast.Div: (" / ", 13),
          ast.FloorDiv: (" // ", 13), ast.Mod: (" % ", 13), ast.Pow: (" ** ", 15), ast.MatMult: (" @ ", 13)}
COMPARISON = {ast.Eq: " == ", ast.NotEq: " != ", ast.Lt: " < ", ast.LtE: " <= ", ast.Gt: " > ", ast.GtE: " >= ",
              ast.Is: " is ", ast.IsNot: " is not ", ast.In: " in ", ast.NotIn: " not in "}
COMPARE_LEVEL, UNARY_LEVEL, ATOM_LEVEL = 6, 14, 20


class Unsupported(Exception):
    """An expression outside the subset ``pieces`` knows."""


def print_call(node: ast.expr) -> str:
    """The text astor would print for ``node`` (without its final line break)."""
    try:
        written = pieces(node)
    except Unsupported:
        return ast.unparse(node)
    if "".join(written) != ast.unparse(node):  # a case the subset spells differently: Python's spelling
        return ast.unparse(node)
    return lay_out(written)


def pieces(node: ast.expr) -> list[str]:
    """The pieces astor writes for an expression printed on its own (a call, an attribute, a name, a subscript)."""
    if not isinstance(node, ast.Call | ast.Attribute | ast.Name | ast.Subscript):
        raise Unsupported(type(node).__name__)  # astor brackets other expressions printed alone
    return _Writer().expression(node, 0)


class _Writer:
    def expression(self, node: ast.expr, level: int) -> list[str]:
        """``node`` inside a context that binds at ``level``: bracketed where its own level is lower."""
        method = getattr(self, f"write_{type(node).__name__}", None)
        if method is None:
            raise Unsupported(type(node).__name__)
        return method(node, level)

    @staticmethod
    def bracketed(own: int, level: int, inner: list[str]) -> list[str]:
        """A node with a level of its own: an empty piece before it, which becomes ``(`` when it needs brackets."""
        return ["(", *inner, ")"] if own < level else ["", *inner]

    def separated(self, nodes: list[ast.expr]) -> list[str]:
        written: list[str] = []
        for index, node in enumerate(nodes):
            written += ([", "] if index else []) + self.expression(node, 0)
        return written

    def write_Name(self, node: ast.Name, level: int) -> list[str]:
        return [node.id]

    def write_Constant(self, node: ast.Constant, level: int) -> list[str]:
        value = node.value
        if isinstance(value, str):
            return [repr(value)]
        if value is None or value is Ellipsis:
            return [repr(value) if value is None else "..."]
        if isinstance(value, bool | int | float) and not isinstance(value, complex):
            if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
                raise Unsupported("float")
            return self.bracketed(ATOM_LEVEL, level, [repr(value)])
        raise Unsupported(type(value).__name__)

    def write_Attribute(self, node: ast.Attribute, level: int) -> list[str]:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
            raise Unsupported("attribute of a number")
        return [*self.expression(node.value, ATOM_LEVEL), ".", node.attr]

    def write_Call(self, node: ast.Call, level: int) -> list[str]:
        arguments: list[str] = []
        for item in [*node.args, *node.keywords]:
            arguments += [", "] if arguments else []
            if isinstance(item, ast.Starred):
                arguments += ["*", *self.expression(item.value, 0)]
            elif isinstance(item, ast.keyword):
                arguments += ([item.arg, "="] if item.arg else ["**"]) + self.expression(item.value, 0)
            else:
                arguments += self.expression(item, 0)
        if len(node.args) == 1 and not node.keywords and isinstance(node.args[0], ast.GeneratorExp):
            raise Unsupported("generator argument")
        return [*self.expression(node.func, ATOM_LEVEL), "(", *arguments, ")"]

    def write_Tuple(self, node: ast.Tuple, level: int, bare: bool = False) -> list[str]:
        inner = self.separated(node.elts) + ([","] if len(node.elts) == 1 else [])
        return ["", *inner] if bare and node.elts else ["(", *inner, ")"]

    def write_List(self, node: ast.List, level: int) -> list[str]:
        return ["[", *self.separated(node.elts), "]"]

    def write_Dict(self, node: ast.Dict, level: int) -> list[str]:
        written = ["{"]
        for index, (key, value) in enumerate(zip(node.keys, node.values, strict=True)):
            if key is None:
                raise Unsupported("dict unpacking")
            written += ([", "] if index else []) + self.expression(key, 0) + [": "] + self.expression(value, 0)
        return [*written, "}"]

    def write_Subscript(self, node: ast.Subscript, level: int) -> list[str]:
        index = node.slice
        if isinstance(index, ast.Tuple):
            inside = self.write_Tuple(index, 0, bare=True)
        else:
            inside = self.expression(index, 0)
        return [*self.expression(node.value, ATOM_LEVEL), "[", *inside, "]"]

    def write_Slice(self, node: ast.Slice, level: int) -> list[str]:
        written = self.expression(node.lower, 0) if node.lower else []
        written += [":"] + (self.expression(node.upper, 0) if node.upper else [])
        if node.step:
            written += [":", *self.expression(node.step, 0)]
        return written

    def write_UnaryOp(self, node: ast.UnaryOp, level: int) -> list[str]:
        if not isinstance(node.op, ast.USub):
            raise Unsupported(type(node.op).__name__)
        return self.bracketed(UNARY_LEVEL, level, ["-", *self.expression(node.operand, UNARY_LEVEL)])

    def write_BinOp(self, node: ast.BinOp, level: int) -> list[str]:
        if type(node.op) not in BINARY:
            raise Unsupported(type(node.op).__name__)
        text, own = BINARY[type(node.op)]
        right_first = isinstance(node.op, ast.Pow)  # ** binds to the right
        left = self.expression(node.left, own + 1 if right_first else own)
        right = self.expression(node.right, own if right_first else own + 1)
        return self.bracketed(own, level, [*left, text, *right])

    def write_Compare(self, node: ast.Compare, level: int) -> list[str]:
        written = self.expression(node.left, COMPARE_LEVEL + 1)
        for operator, right in zip(node.ops, node.comparators, strict=True):
            written += [COMPARISON[type(operator)], *self.expression(right, COMPARE_LEVEL + 1)]
        return self.bracketed(COMPARE_LEVEL, level, written)

    def write_ListComp(self, node: ast.ListComp, level: int) -> list[str]:
        written = ["[", *self.expression(node.elt, 0)]
        for generator in node.generators:
            if not isinstance(generator.target, ast.Name) or generator.is_async:
                raise Unsupported("comprehension target")
            written += [" for ", generator.target.id, " in ", *self.expression(generator.iter, 0)]
            for condition in generator.ifs:
                written += [" if ", *self.expression(condition, 0)]
        return [*written, "]"]


def lay_out(written: list[str], max_line: int = MAX_LINE) -> str:
    """The pieces as one line, or broken as astor breaks a line longer than ``max_line``: only inside brackets,
    between pieces, each further line indented by four spaces."""
    if sum(map(len, written)) <= max_line:
        return "".join(written)
    groups = _groups(written)
    fixed, breakable = groups[::2], groups[1::2]
    out, position, indent = list(fixed[0]), sum(map(len, fixed[0])), len(CONTINUATION)

    def new_line() -> None:
        nonlocal position
        out.extend(["\n", CONTINUATION])
        position = indent

    for free, kept in zip(breakable, fixed[1:], strict=False):
        if free:
            if position > indent and position + len(free[0]) > max_line:
                new_line()
            while position + sum(map(len, free)) > max_line:
                line, free = _first_line(free, position, max_line)
                line[-1] = line[-1].removesuffix(" ") if line[-1].endswith(" ") else line[-1]
                out.extend(line)
                new_line()
            out.extend(free)
            position += sum(map(len, free))
        if position > indent and position + sum(map(len, kept)) > max_line:
            new_line()
        out.extend(kept)
        position += sum(map(len, kept))
    return "".join(out)


def _groups(written: list[str]) -> list[list[str]]:
    """Alternating groups: one that ends at an opening bracket (no break inside), then the inside of that bracket
    up to its closing one (breaks allowed), and so on; a closing bracket starts the next unbreakable group."""
    groups, current, depth, breakable = [], [], 0, False
    for piece in written:
        if not breakable:
            current.append(piece)
            if piece in OPENING:
                groups.append(current)
                current, depth, breakable = [], 0, True
            continue
        if piece in OPENING:
            depth += 1
        elif piece in CLOSING:
            depth -= 1
            if depth < 0:
                groups.append(current)
                current, breakable = [piece], False
                continue
        current.append(piece)
    groups.append(current)
    return groups


def _first_line(pieces_left: list[str], position: int, max_line: int) -> tuple[list[str], list[str]]:
    """Split a breakable group: the pieces that stay on the current line (at least one), and the rest. A piece
    ending in a space may reach one column past ``max_line``; another must leave four columns free."""
    for count, piece in enumerate(pieces_left, 1):
        position += len(piece)
        if count < len(pieces_left):
            following = pieces_left[count]
            allowed = max_line + 1 if following.endswith(" ") else max_line - 4
            if position + len(following) > allowed:
                return pieces_left[:count], pieces_left[count:]
    return pieces_left, []
