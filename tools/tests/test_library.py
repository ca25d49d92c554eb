"""The library file: order, add_to_class, hand-written header, duplicates, aliases, version."""

from __future__ import annotations

from d2lbuild.config import TabLibrary
from d2lbuild.library import WARNING_LINE, alias_definitions, build_library
from d2lbuild.saving import saved_blocks
from d2lbuild.source import read_markdown, split_lines

TABS = ("pytorch",)
LIB = TabLibrary("pytorch", "d2l/torch.py", "torch")


def library_of(text: str, existing: str | None = None, lib: TabLibrary = LIB):
    blocks = saved_blocks(read_markdown("ch.md", split_lines(text), TABS))
    return build_library(blocks, lib, existing, 1)


def test_add_to_class_becomes_a_method_of_a_saved_class():
    text = "```{.python .input}\nclass M:  #@save\n    pass\n```\n\n```{.python .input}\n@d2l.add_to_class(M)  #@save\ndef go(self):\n    return 1\n```\n"
    library = library_of(text)
    assert "class M:\n    pass\n\n    def go(self):\n        return 1\n" in library.text
    assert "add_to_class" not in library.text


def test_add_to_class_of_an_unsaved_class_stays_decorated():
    text = "```{.python .input}\n@d2l.add_to_class(Other)  #@save\ndef go(self):\n    return 1\n```\n"
    assert "@d2l.add_to_class(Other)\ndef go(self):" in library_of(text).text


def test_hand_written_header_is_kept_byte_for_byte():
    header = "# -*- hand made -*-\r\nimport sys  \n\n\nd2l = sys.modules[__name__]\n"
    existing = header + WARNING_LINE + "\nold generated code\n"
    library = library_of("```{.python .input}\nx = 1  #@save\n```\n", existing)
    assert library.text.startswith(header + WARNING_LINE + "\n")
    assert "old generated code" not in library.text and "x = 1\n" in library.text


def test_a_name_saved_twice_warns_and_the_later_wins():
    text = "```{.python .input}\ndef f():  #@save\n    return 1\n```\n\n```{.python .input}\ndef f():  #@save\n    return 2\n```\n"
    library = library_of(text)
    assert "return 1" not in library.text and "return 2" in library.text
    (warning,) = library.warnings
    assert str(warning) == "ch.md:7: warning: f is saved again; this replaces the definition at ch.md:2"


def test_index_records_positions_uses_and_a_source_map():
    text = "```{.python .input}\ndef a():  #@save\n    return 1\n\ndef b():  #@save\n    return d2l.a() + helper\n```\n"
    library = library_of(text)
    first, second = library.index["definitions"]
    assert (first["names"], first["path"], first["line"]) == (["a"], "ch.md", 2)
    assert second["uses"] == ["a"]
    lines = library.text.splitlines()
    for start, count, _, line, _ in library.index["source_map"]:
        chapter = split_lines("```{.python .input}\ndef a():  #@save\n    return 1\n\ndef b():  #@save\n    return d2l.a() + helper\n```\n")
        for offset in range(count):
            assert lines[start - 1 + offset] == chapter[line - 1 + offset].text.replace("  #@save", "")


def test_alias_lines():
    lib = TabLibrary(
        "tensorflow",
        "d2l/tensorflow.py",
        "tf",
        simple_alias=(("zeros", "zeros"), ("tensor", "constant")),
        fluent_alias=(("numpy", "numpy"),),
        args_alias=(("astype", "tf.cast(x, args)"),),
        alias_lines=("normal = lambda m, s, shape: tf.random.normal(shape, m, s)",),
    )
    assert [text for _, text in alias_definitions(lib)] == [
        "zeros = tf.zeros",
        "tensor = tf.constant",
        "numpy = lambda x, *args, **kwargs: x.numpy(*args, **kwargs)",
        "astype = lambda x, *args, **kwargs: tf.cast(x, *args, **kwargs)",
        "normal = lambda m, s, shape: tf.random.normal(shape, m, s)",
    ]
    library = library_of("```{.python .input}\nimport tensorflow as tf  #@save\n```\n", lib=lib)
    assert library.text.endswith("normal = lambda m, s, shape: tf.random.normal(shape, m, s)\n")


def test_add_to_class_grows_a_class_of_an_earlier_section():
    first = "```{.python .input}\nclass Vocab:  #@save\n    pass\n```\n"
    later = "```{.python .input}\n@d2l.add_to_class(d2l.Vocab)  #@save\ndef encode(self, text):\n    return list(text)\n```\n"
    blocks = saved_blocks(read_markdown("a.md", split_lines(first), TABS)) + saved_blocks(read_markdown("b.md", split_lines(later), TABS))
    library = build_library(blocks, LIB, None, 2)
    assert "class Vocab:\n    pass\n\n    def encode(self, text):\n        return list(text)\n" in library.text
    assert library.index["definitions"][0]["methods"] == [{"name": "encode", "path": "b.md", "line": 2, "cell": None}]
