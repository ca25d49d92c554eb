"""Each tab's library as the API pages show it: for every saved name, its kind, signature, docstring and methods.

Read from the library files extract wrote (``[library-TAB] lib_file``) with ``ast``: nothing is imported, so
the site needs no framework. The site writes it as one JSON file that the ``api_names`` extension reads.
"""

from __future__ import annotations

import ast
from pathlib import Path, PurePosixPath

from ..config import Config
from ..stores import StoreType, is_str_map

API_FILE = "_api.json"


def module_name(lib_file: str) -> str:
    """The import name of a library file: d2l/torch.py -> d2l.torch."""
    return ".".join(PurePosixPath(lib_file).with_suffix("").parts)


def library_api(config: Config) -> dict[str, dict]:
    """tab -> {"module": name, "names": {name: entry}} for every tab whose library file parses."""
    api = {}
    for tab in config.tabs:
        lib = config.library(tab)
        try:
            tree = ast.parse((config.root / lib.lib_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        api[tab] = {"module": module_name(lib.lib_file), "names": names_of(tree)}
    return api


def names_of(tree: ast.Module) -> dict[str, dict]:
    """The library's top-level functions and classes (the later definition of a name wins, as at import)."""
    names: dict[str, dict] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] = _function(node, "function")
        elif isinstance(node, ast.ClassDef):
            names[node.name] = _class(node)
    for entry in names.values():
        if entry["kind"] == "class" and entry.get("init") is None:
            entry["signature"] = _inherited_signature(entry, names)
    return names


def _inherited_signature(entry: dict, names: dict[str, dict], depth: int = 0) -> str:
    """The parameters of the first ``__init__`` up the library's own base classes (d2l.Module, Module ...)."""
    for base in entry.get("bases", []):
        parent = names.get(base.rsplit(".", 1)[-1]) if base.split(".")[0] in ("d2l", base) else None
        if parent is None or parent.get("kind") != "class" or depth > 20:
            continue
        if parent.get("init") is not None:
            return parent["signature"]
        found = _inherited_signature(parent, names, depth + 1)
        if found:
            return found
    return ""


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, kind: str) -> dict:
    return {"kind": kind, "signature": _signature(node.args), "doc": ast.get_docstring(node) or ""}


def _class(node: ast.ClassDef) -> dict:
    init = next((item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"), None)
    signature = _signature(init.args, drop_first=True) if init is not None else ""
    bases = [ast.unparse(base) for base in node.bases]
    defined: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for item in node.body:  # a method defined again (a later section's version) replaces the earlier one, as at import
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and not item.name.startswith("_"):
            defined[item.name] = item
    methods = [
        {"name": name, "kind": "method", "signature": _signature(item.args, drop_first=not _is_static(item)),
         "doc": ast.get_docstring(item) or ""}
        for name, item in defined.items()
    ]
    docs = [ast.get_docstring(node) or "", (ast.get_docstring(init) or "") if init is not None else ""]
    doc = "\n\n".join(text for text in docs if text)  # the class's and __init__'s, where "Defined in" may be
    return {"kind": "class", "signature": signature, "doc": doc, "bases": bases, "methods": methods,
            "init": signature if init is not None else None}


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def _signature(args: ast.arguments, drop_first: bool = False) -> str:
    """The parameters as written, without annotations' noise beyond what ast keeps; ``self`` left out for methods."""
    args = ast.arguments(**{field: getattr(args, field) for field in args._fields})
    if drop_first:
        if args.posonlyargs:
            args.posonlyargs = args.posonlyargs[1:]
        elif args.args:
            args.args = args.args[1:]
            if len(args.defaults) > len(args.args) + len(args.posonlyargs):
                args.defaults = args.defaults[1:]
    return ast.unparse(args)


API_STORE = StoreType("library-api", 1, lambda data: is_str_map(data, dict))  # tab -> its library's public names


def api_json(config: Config) -> str:
    return API_STORE.dumps(library_api(config))


def read_api(path: Path) -> dict[str, dict]:
    return API_STORE.read(path) or {}
