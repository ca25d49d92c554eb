"""The eval cache key: which library names a notebook reaches, and what importing the library runs."""

from __future__ import annotations

import pytest

from d2lbuild.cache import import_time, library_names

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
    ],
)
def test_any_name_when_the_names_cannot_be_known(cells):
    assert library_names(cells, MODULE) == (True, None)


def test_a_notebook_that_never_names_the_library_depends_on_none_of_it():
    assert library_names(["import math\nprint(math.pi)"], MODULE) == (False, set())


def test_import_time_code_leaves_function_bodies_out():
    base = "import torch\n\ndef f(x, scale=2):\n    return x * scale\n\nclass C:\n    size = 3\n\n    def m(self):\n        return 1\n"
    digest, names = import_time(base)
    assert import_time(base.replace("return x * scale", "return x + scale"))[0] == digest
    assert import_time(base.replace("return 1", "return 2"))[0] == digest
    assert import_time(base.replace("scale=2", "scale=helper()"))[0] != digest
    assert import_time(base.replace("size = 3", "size = 4"))[0] != digest
    assert "helper" in import_time(base.replace("scale=2", "scale=helper()"))[1]


def test_a_plain_function_only_binds_its_name_at_import_time():
    """A top-level def without decorators, annotations or computed defaults runs nothing when imported: adding one,
    or changing its constant defaults, leaves the import digest alone (its users depend on its own digest)."""
    base = "import torch\n\ndef f(x, scale=2):\n    return x * scale\n\nclass C:\n    size = 3\n"
    digest, _ = import_time(base)
    added = base + "\ndef g(x, *, axis=-1, sizes=(1, 2), name='g', flag=None):\n    return x\n"
    assert import_time(added)[0] == digest
    assert import_time(base.replace("scale=2", "scale=3"))[0] == digest
    for changed in (
        base + "\n@torch.no_grad()\ndef g(x):\n    return x\n",  # a decorator runs at import time
        base + "\ndef g(x=torch.zeros(1)):\n    return x\n",  # so does a computed default
        base + "\ndef g(x: torch.Tensor):\n    return x\n",  # and an annotation
        base + "\nasync def g(x=f(1)):\n    return x\n",
        base.replace("def f(x, scale=2)", "def f(x, scale=size)"),
    ):
        assert import_time(changed)[0] != digest, changed
    assert "size" in import_time(base.replace("def f(x, scale=2)", "def f(x, scale=size)"))[1]
