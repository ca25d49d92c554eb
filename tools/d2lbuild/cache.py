"""The eval cache: a notebook runs again only when something it depends on changed.

The key of a notebook covers its code, its execution settings, the installed environment, the resources,
d2lbuild's own source and, when it imports the library, everything the import runs (module-level code,
class bodies, decorators, default values, aliases, the package's ``__init__``) plus the source of every
library definition it reaches, by any import form, followed through the definitions' uses.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .fsutil import file_digest
from .hashing import digest
from .records import ChapterRecords
from .stores import StoreType, is_str_map

MAGIC = re.compile(r"^(\s*)[%!]")
LINE_MAGIC = re.compile(r"^(\s*)%(?!%)\w+\s?(.*)$")  # ``%time CODE``: CODE runs as Python


@dataclass(frozen=True)
class LibraryFacts:
    """What the cache needs from a tab's library: its module, import-time digest and definitions."""

    module: str
    import_digest: str
    import_names: frozenset[str] | None  # library names the import itself reaches; None: any
    digests: dict[str, str]
    uses: dict[str, list[str]]
    package_digest: str = ""  # the package's other modules (``d2l/extra.py``, other tabs' libraries)


def library_facts(root: Path, lib_file: str, index: dict) -> LibraryFacts:
    """Read the library file as written (it is what the kernels import) and the index extract wrote."""
    digests: dict[str, str] = {}
    uses: dict[str, list[str]] = {}
    for definition in index.get("definitions", []):
        for name in definition["names"]:  # a name defined twice depends on both definitions, in their order
            digests[name] = definition["digest"] if name not in digests else digest(digests[name] + definition["digest"])
            uses[name] = sorted(set(uses.get(name, [])) | set(definition["uses"]))
    text = _read(root / lib_file)
    import_digest, names = import_time(text, frozenset(digests))
    packages = [parent / "__init__.py" for parent in Path(lib_file).parents if parent != Path(".")]
    init_texts = [_read(root / path) for path in packages]
    for init in init_texts:  # what the package's __init__.py reaches in the library, it reaches at import time
        init_names = import_time(init, frozenset())[1]
        names = None if names is None or init_names is None else names | init_names
    inits = "\0".join(f"{path}\0{init}" for path, init in zip(packages, init_texts, strict=True))
    module = ".".join(Path(lib_file).with_suffix("").parts)
    package = package_digest(root, lib_file)
    if any(imports_sibling(code, module) for code in [text, *init_texts]):  # the import runs them too
        import_digest = digest(import_digest + "\0" + package)
    return LibraryFacts(module, digest(import_digest + "\0" + inits), names, digests, uses, package)


def package_digest(root: Path, lib_file: str) -> str:
    """The digest of every other Python file of the library's top package (``d2l/``), by path and bytes."""
    parts = Path(lib_file).parts
    if len(parts) < 2:
        return ""
    folder = root / parts[0]
    files = sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts and path != root / lib_file)
    return digest("".join(f"{path.relative_to(root).as_posix()}\0{_read(path)}\0" for path in files))


def imports_sibling(text: str, module: str) -> bool:
    """Whether a module of the package imports another of its modules (relative imports included)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return True
    top = _top(module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module and _top(node.module) == top)):
            if node.level > 0 or node.module != module:
                return True
        elif isinstance(node, ast.Import) and any(_top(alias.name) == top and alias.name != module for alias in node.names):
            return True
    return False


def import_time(text: str, digested: frozenset[str]) -> tuple[str, frozenset[str] | None]:
    """The digest of what importing a module runs, and every identifier that code mentions (``d2l.f`` mentions
    ``f``: the library reaches its own names through the module too).

    The bodies of the module's top-level functions and of its top-level classes' methods are left out when the
    index has a digest of their own (``digested``: the definitions extract wrote, which the notebooks that call
    them depend on) and the module defines that name once. Every other function is kept whole: one written by
    hand above the library's generated part, one defined under an ``if`` or a ``try``, and a decorated top-level
    function (its decorator runs at import and may put it anywhere: ``@add_to_class(C)`` of a class outside the
    library).
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return digest(text), None
    bound = Counter(name for statement in tree.body for name in bound_names(statement))
    for statement in tree.body:
        if getattr(statement, "name", None) in digested and bound[statement.name] == 1:
            for function in top_level_functions(statement):
                function.body = [ast.Pass()]
    return digest(ast.unparse(tree)), frozenset(identifiers(tree.body))


def bound_names(statement: ast.stmt) -> list[str]:
    """The names a top-level statement binds by definition or assignment (enough to see a name defined twice)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return [node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)]
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in statement.names]
    return []


def top_level_functions(statement: ast.stmt):
    """A top-level ``def`` without decorators, or the methods of a top-level class: definitions reached by name."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if not statement.decorator_list:
            yield statement
    elif isinstance(statement, ast.ClassDef):
        yield from (node for node in statement.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))


def identifiers(statements) -> set[str]:
    """The names statements read, as names (``f``) or as attributes (``d2l.f``, ``x.f``)."""
    found = set()
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.Attribute):
                found.add(node.attr)
    return found


def reachable(names: set[str], uses: dict[str, list[str]]) -> set[str]:
    """The library names reachable from ``names`` through the definitions' uses."""
    seen: set[str] = set()
    stack = [name for name in names if name in uses]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(used for used in uses.get(name, []) if used not in seen)
    return seen


def notebook_key(cells: list[str], library: LibraryFacts, parts: dict[str, str]) -> tuple[str, list[str]]:
    """The cache key of a notebook, and the library names it depends on.

    ``parts`` names the other inputs (settings, environment, resources, tool), each as a digest or text.
    """
    imports, taken = library_names(cells, library.module)
    text = [*cells, json.dumps(parts, sort_keys=True)]
    if not imports:
        return digest("\0".join(text)), []
    if taken is None or library.import_names is None:
        names = sorted(library.digests)
        text.append(library.package_digest)  # any module of the package may be reached
    else:
        roots = set(taken) | (library.import_names & set(library.digests))
        names = sorted(reachable(roots, library.uses) | (set(taken) - set(library.digests)))
    text.append(library.import_digest)
    text += [f"{name}={library.digests.get(name, '-')}" for name in names]
    return digest("\0".join(text)), [name for name in names if name in library.digests]


def library_names(cells: list[str], module: str) -> tuple[bool, set[str] | None]:
    """Whether the cells import ``module`` (e.g. ``d2l.torch``), and the names they take from it.

    Every import form counts: ``from d2l import torch as d2l`` then ``d2l.f``, ``import d2l.torch as t``
    then ``t.f``, ``from d2l.torch import f``. A star import, a bare use of the module (``getattr(d2l, s)``)
    or code that does not parse gives None: any name may be used.
    """
    text = "\n".join(cells)
    package = module.split(".")[0]
    if package not in text:  # neither imported nor mentioned: no need to parse
        return False, set()
    trees = []
    for code in cells:
        try:
            trees.append(ast.parse("\n".join(_without_magic(line) for line in code.splitlines())))
        except (SyntaxError, ValueError, RecursionError):
            return True, None
    scan = _ImportScan(module)
    for tree in trees:
        scan.imports(tree)
    if not scan.imported:  # no import statement; a mention of the package may still load it (importlib, exec)
        mentioned = any(package in code for code in cells)
        return mentioned, None if mentioned else set()
    for tree in trees:
        scan.uses(tree)
    if scan.in_text(cells):
        return True, None
    return True, None if scan.anything else scan.names


def _without_magic(line: str) -> str:
    """A line of a notebook cell as Python: ``%time CODE`` keeps CODE when it parses (so its uses count), other
    magics and shell lines become ``pass`` (their text is searched for the package by the caller)."""
    match = LINE_MAGIC.match(line)
    if match and match.group(2).strip():
        try:
            ast.parse(match.group(2))
        except (SyntaxError, ValueError, RecursionError):
            pass
        else:
            return match.group(1) + match.group(2)
    return MAGIC.sub(r"\1pass  #", line, count=1)


class _ImportScan:
    """Local names bound to the library module (or to a package above it), and the attributes taken."""

    def __init__(self, module: str):
        self.module = module
        self.bound: dict[str, str] = {}  # local name -> the dotted module it is bound to
        self.names: set[str] = set()
        self.imported = False
        self.anything = False

    def imports(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._bind_import(alias)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    self._bind_from(node.module, alias)

    def _on_path(self, dotted: str) -> bool:
        return dotted == self.module or self.module.startswith(dotted + ".")

    def _bind_import(self, alias: ast.alias) -> None:
        if not self._on_path(alias.name) and not alias.name.startswith(self.module + "."):
            if _top(alias.name) == _top(self.module):  # ``import d2l.extra``: another module of the package
                self.imported = self.anything = True
            return
        self.imported = True
        if alias.asname:
            self.bound[alias.asname] = alias.name
        else:
            top = alias.name.split(".")[0]
            self.bound[top] = top

    def _bind_from(self, module: str, alias: ast.alias) -> None:
        if module == self.module:
            self.imported = True
            if alias.name == "*":
                self.anything = True
            else:
                self.names.add(alias.name)
        elif self._on_path(f"{module}.{alias.name}"):
            self.imported = True
            self.bound[alias.asname or alias.name] = f"{module}.{alias.name}"
        elif _top(module) == _top(self.module):  # another module of the library's package (``from d2l import extra``)
            self.imported = self.anything = True

    def uses(self, tree: ast.AST) -> None:
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in self.bound and isinstance(node.ctx, ast.Load):
                dotted, top = self.bound[node.id], node
                while isinstance(parents.get(top), ast.Attribute) and not self._inside_module(dotted):
                    top = parents[top]
                    dotted += "." + top.attr
                name = dotted[len(self.module) + 1 :].split(".")[0]
                if self._inside_module(dotted) and not (name.startswith("__") and name.endswith("__")):
                    self.names.add(name)
                else:  # the module passed around, d2l.__dict__, or a package's re-export: any name may be used
                    self.anything = True

    def in_text(self, cells: list[str]) -> bool:
        """Whether a local name of the module appears where no parse sees it: in a string (``eval("d2l.g(1)")``)
        or a magic or shell line that is not Python."""
        bound = [re.compile(rf"(?<![\w.]){re.escape(name)}\b") for name in self.bound]
        for code in cells:
            for line in code.splitlines():
                if MAGIC.match(line) and _without_magic(line).lstrip().startswith("pass  #") and any(p.search(line) for p in bound):
                    return True
            try:
                tree = ast.parse("\n".join(_without_magic(line) for line in code.splitlines()))
            except (SyntaxError, ValueError, RecursionError):
                return True
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(p.search(node.value) for p in bound):
                    return True
        return False

    def _inside_module(self, dotted: str) -> bool:
        return dotted.startswith(self.module + ".")


def _top(module: str) -> str:
    return module.split(".")[0]


def resources_digest(files: dict[str, Path]) -> str:
    """Digest of the resource files: their relative paths and bytes."""
    return digest("".join(f"{relpath}\0{digest(path.read_bytes())}\0" for relpath, path in sorted(files.items())))


class EvalCache(ChapterRecords):
    """``build/eval/TAB/cache.json``: chapter -> key of its last good run; saved after every run."""

    FIELDS = {"key": str, "seconds": (int, float)}
    STORE = StoreType("eval-cache", 1, lambda data: is_str_map(data))

    def hit(self, chapter: str, key: str, result: Path) -> dict | None:
        """The entry of ``chapter`` when its key matches and its result file still holds what that run wrote."""
        entry = self.entries.get(chapter)
        if not entry or entry.get("key") != key or not isinstance(entry.get("result"), str):
            return None
        return entry if file_digest(result) == entry["result"] else None

    def seconds(self, chapter: str) -> float:
        return self.entries.get(chapter, {}).get("seconds", 1e9)

    def record(self, chapter: str, key: str, seconds: float, result: str) -> None:
        """Keep the key of a good run, with the digest of the result it wrote (``hit`` checks it)."""
        self._put(chapter, {"key": key, "seconds": round(seconds, 3), "result": result})


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
