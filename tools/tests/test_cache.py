"""The eval cache key: which library names a notebook reaches, and what importing the library runs."""

from __future__ import annotations

import pytest

from d2lbuild.cache import import_time, library_facts, library_names, notebook_key

MODULE = "d2l.torch"


@pytest.mark.parametrize(
    "cells, names",
    [
        (["from d2l import torch as d2l\nd2l.f(1)"], {"f"}),
        (["from d2l.torch import f, g as h\nh()"], {"f", "g"}),
        (["import d2l.torch as t\ndef run():\n    return t.f.__name__"], {"f"}),
        (["import d2l.torch\nd2l.torch.f()"], {"f"}),
        (["import d2l\nd2l.torch.g()"], {"g"}),
        (["%matplotlib inline\nfrom d2l import torch as d2l", "!ls\nd2l.f()"], {"f"}),
    ],
)
def test_every_import_form_names_what_it_takes(cells, names):
    assert library_names(cells, MODULE) == (True, names)


@pytest.mark.parametrize(
    "cells",
    [
        ["from d2l.torch import *"],
        ["from d2l import torch as d2l\ngetattr(d2l, 'f')()"],
        ["from d2l import torch as d2l\nx = (\n"],  # does not parse: anything may be used
        ["import importlib\nimportlib.import_module('d2l.torch').f()"],
        ["from d2l import torch as d2l\nprint(sorted(d2l.__dict__))"],  # every name, through the module's dict
        ["import d2l\nd2l.train_ch3()"],  # a name the package's __init__.py may take from any of its modules
    ],
)
def test_any_name_when_the_names_cannot_be_known(cells):
    assert library_names(cells, MODULE) == (True, None)


def test_a_notebook_that_never_names_the_library_depends_on_none_of_it():
    assert library_names(["import math\nprint(math.pi)"], MODULE) == (False, set())


def test_import_time_code_leaves_function_bodies_out():
    base = "import torch\n\ndef f(x, scale=2):\n    return x * scale\n\nclass C:\n    size = 3\n\n    def m(self):\n        return 1\n"
    indexed = frozenset({"f", "C"})
    digest, names = import_time(base, indexed)
    assert import_time(base.replace("return x * scale", "return x + scale"), indexed)[0] == digest
    assert import_time(base.replace("return 1", "return 2"), indexed)[0] == digest
    assert import_time(base.replace("scale=2", "scale=helper()"), indexed)[0] != digest
    assert import_time(base.replace("size = 3", "size = 4"), indexed)[0] != digest
    assert "helper" in import_time(base.replace("scale=2", "scale=helper()"), indexed)[1]


@pytest.mark.parametrize(
    "edit",
    [
        ("return x * scale", "return x + scale"),  # a function the index does not know (written by hand)
        ("    def m(self):\n        return 1", "    def m(self):\n        return 2"),  # a method of such a class
    ],
)
def test_bodies_without_a_digest_of_their_own_stay_in_the_import_digest(edit):
    base = "import torch\n\ndef f(x, scale=2):\n    return x * scale\n\nclass C:\n    size = 3\n\n    def m(self):\n        return 1\n"
    assert import_time(base, frozenset())[0] != import_time(base.replace(*edit), frozenset())[0]


def test_a_name_the_index_knows_but_the_module_defines_twice_is_kept_whole():
    base = "def f():\n    return 1\n\ndef f():\n    return 2\n"
    assert import_time(base, frozenset({"f"}))[0] != import_time(base.replace("return 1", "return 3"), frozenset({"f"}))[0]


def test_a_function_written_by_hand_above_the_generated_part_is_in_the_key(tmp_path):
    """A library header kept by extract (above its WARNING line) has no index digest: editing it re-runs."""
    header = "import sys\n\nd2l = sys.modules[__name__]\n\ndef helper():\n    return 1\n\n"
    generated = "#################   WARNING   ################\n\ndef f():\n    return helper()\n"
    index = {"definitions": [{"names": ["f"], "digest": "d-f", "uses": ["helper"]}]}
    (tmp_path / "d2l").mkdir()
    library = tmp_path / "d2l" / "torch.py"
    library.write_text(header + generated)
    before = library_facts(tmp_path, "d2l/torch.py", index)
    library.write_text(header.replace("return 1", "return 2") + generated)
    assert library_facts(tmp_path, "d2l/torch.py", index).import_digest != before.import_digest


@pytest.mark.parametrize(
    "edit",
    [
        ("X = h()\n\ndef h():\n    return 1\n", "def h():\n    return 1\n\nX = h()\n"),  # moved below its use
        ("@d2l.add_to_class(C)\ndef m(self):\n    return 1\n", "def add_to_class(cls):\n    return cls\n\n"
         "@d2l.add_to_class(C)\ndef m(self):\n    return 1\n"),  # the decorator used through the module removed
        ("class B(d2l.A):\n    pass\n", "class B(d2l.A):\n    pass\n\ndef A():\n    return 1\n"),  # a base class shadowed
        ("class A:\n    pass\n", "class A:\n    pass\n\ndef A():\n    return 1\n"),  # a name bound twice
        ("X = globals()\n", "X = globals()\n\ndef f():\n    return 1\n"),  # import-time code that reads names by string
        ("X = 1\n", "X = 1\n\ndef __getattr__(name):\n    return name\n"),  # a module's own attribute hook
        ("if X:\n    def g():\n        return 1\n", "if X:\n    def g():\n        return 2\n"),  # no digest of its own
    ],
)
def test_edits_that_import_time_code_can_see_change_the_import_digest(edit):
    before, after = edit
    head = "import sys\n\nd2l = sys.modules[__name__]\nX = 1\n\nclass C:\n    pass\n\n"
    indexed = frozenset({"C", "A", "B", "f", "g", "h", "m"})
    assert import_time(head + before, indexed)[0] != import_time(head + after, indexed)[0]


def test_import_time_names_include_those_reached_through_the_module():
    _, names = import_time("d2l = object()\n\n@d2l.add_to_class(int)\ndef f(self, x=d2l.try_gpu()):\n    return 1\n", frozenset({"f"}))
    assert {"add_to_class", "try_gpu"} <= names


def test_a_name_defined_twice_depends_on_both_definitions(tmp_path):
    (tmp_path / "d2l").mkdir()
    (tmp_path / "d2l/torch.py").write_text("def f():\n    return 1\n\ng = f\n\ndef f():\n    return 2\n")

    def key(first_digest: str) -> str:
        index = {"definitions": [{"names": ["f"], "digest": first_digest, "uses": []},
                                 {"names": ["g"], "digest": "g1", "uses": ["f"]},
                                 {"names": ["f"], "digest": "second", "uses": []}]}
        facts = library_facts(tmp_path, "d2l/torch.py", index)
        return notebook_key(["from d2l import torch as d2l\nd2l.g()"], facts, {})[0]

    assert key("first") != key("first, edited")


def test_names_the_packages_init_reaches_are_import_time_names(tmp_path):
    (tmp_path / "d2l").mkdir()
    (tmp_path / "d2l/torch.py").write_text("def configure():\n    return 1\n")
    (tmp_path / "d2l/__init__.py").write_text("from . import torch as _t\n_t.configure()\n")
    facts = library_facts(tmp_path, "d2l/torch.py", {"definitions": [{"names": ["configure"], "digest": "c", "uses": []}]})
    assert "configure" in facts.import_names
