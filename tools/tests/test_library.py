"""The library file: order, add_to_class, hand-written header, duplicates, aliases, version."""

from __future__ import annotations

from d2lbuild.config import TabLibrary
from d2lbuild.formatting import CodeFormatter
from d2lbuild.library import WARNING_LINE, alias_definitions, build_library
from d2lbuild.saving import saved_blocks
from d2lbuild.source import Document, read_markdown, split_lines
from d2lbuild.transforms import select_tab

TABS = ("pytorch",)
LIB = TabLibrary("pytorch", "d2l/torch.py", "torch")


def blocks_of(text: str, path: str = "ch.md"):
    document = Document(path, tuple(read_markdown(path, split_lines(text), TABS)))
    return saved_blocks(document, "pytorch", select_tab(document, "pytorch"), CodeFormatter(), [])


def library_of(text: str, existing: str | None = None, lib: TabLibrary = LIB):
    return build_library(blocks_of(text), lib, existing, 1)


def test_add_to_class_becomes_a_method_of_a_saved_class():
    text = "```{.python .input}\nclass M:  #@save\n    pass\n```\n\n```{.python .input}\n@d2l.add_to_class(M)  #@save\ndef go(self):\n    return 1\n```\n"
    library = library_of(text)
    assert library.text.endswith("class M:\n    pass\n\n    def go(self):\n        return 1\n")
    assert "add_to_class" not in library.text


def test_add_to_class_keeps_other_decorators_and_the_blank_lines_between_methods():
    text = (
        "```{.python .input}\nclass M:  #@save\n    pass\n```\n\n```{.python .input}\n"
        "@d2l.add_to_class(M)  #@save\n@partial(jax.jit, static_argnums=(0, 5))\ndef go(self):\n    return 1\n\n"
        "@d2l.add_to_class(M)  #@save\ndef stop(self):\n    return 2\n```\n"
    )
    library = library_of(text)
    expected = "class M:\n    pass\n\n    @partial(jax.jit, static_argnums=(0, 5))\n    def go(self):\n        return 1\n    \n\n    def stop(self):\n"
    assert expected in library.text


def test_add_to_class_of_an_unsaved_class_stays_decorated():
    text = "```{.python .input}\n@d2l.add_to_class(Other)  #@save\ndef go(self):\n    return 1\n```\n"
    assert "@d2l.add_to_class(Other)\ndef go(self):" in library_of(text).text


def test_hand_written_header_is_kept_byte_for_byte():
    header = "# -*- hand made -*-\r\nimport sys  \n\n\nd2l = sys.modules[__name__]\n"
    existing = header + WARNING_LINE + "\nold generated code\n"
    library = library_of("```{.python .input}\nx = 1  #@save\n```\n", existing)
    assert library.text.startswith(header + WARNING_LINE + "\n")
    assert "old generated code" not in library.text and library.text.endswith("\nx = 1\n")


def test_a_name_saved_twice_stays_twice_and_warns_that_the_later_wins():
    text = "```{.python .input}\ndef f():  #@save\n    return 1\n```\n\n```{.python .input}\ndef f():  #@save\n    return 2\n```\n"
    library = library_of(text)
    assert library.text.index("return 1") < library.text.index("return 2")
    (warning,) = library.warnings
    assert str(warning) == "ch.md:7: warning: f is saved again; this definition replaces the one at ch.md:2 when the library runs"


def test_subscript_saves_never_replace_or_warn():
    cell = "```{{.python .input}}\nd2l.DATA_HUB['{0}'] = ('{0}.zip', 'x')  #@save\n```\n\n"
    library = library_of("".join(cell.format(name) for name in ("a", "b", "c")))
    assert library.text.count("DATA_HUB[") == 3 and not library.warnings


def test_layout_is_d2lbooks_blocks_one_blank_line_apart_and_aliases_at_the_end():
    lib = TabLibrary("pytorch", "d2l/torch.py", "torch", simple_alias=(("exp(", "exp("),), alias_lines=("nn_Module = nn.Module",))
    text = "```{.python .input}\nx = 1  #@save\n```\n\n```{.python .input}\ny = 2  #@save\n```\n"
    library = library_of(text, lib=lib)
    generated = library.text.split(WARNING_LINE + "\n", 1)[1].split("\n\n", 1)[1]
    assert generated == "x = 1\n\ny = 2\n\n\n# Alias defined in config.ini\nnn_Module = nn.Module\n\nexp = torch.exp\n\n"


def alias_part(lib: TabLibrary) -> str:
    text = library_of("```{.python .input}\nx = 1  #@save\n```\n", lib=lib).text
    return text.split("x = 1\n", 1)[1]


def test_an_alias_key_even_empty_ends_with_a_blank_line_before_the_generated_aliases():
    simple = (("ones", "ones"),)
    empty_key = TabLibrary("pytorch", "d2l/torch.py", "torch", simple_alias=simple, alias_given=True)
    assert alias_part(empty_key) == "\n\n# Alias defined in config.ini\n\n\nones = torch.ones\n\n"
    no_key = TabLibrary("pytorch", "d2l/torch.py", "torch", simple_alias=simple)
    assert alias_part(no_key) == "\n\n# Alias defined in config.ini\n\nones = torch.ones\n\n"
    empty_fluent = TabLibrary("pytorch", "d2l/torch.py", "torch", simple_alias=simple, fluent_given=True)
    assert alias_part(empty_fluent) == "\n\n# Alias defined in config.ini\n\nones = torch.ones\n\n\n"
    assert alias_part(LIB) == ""  # nothing to alias: no heading


def test_an_existing_library_without_the_warning_line_keeps_nothing_above_it():
    older = "# This file is generated automatically through:\n#    d2lbook build lib\n\nimport os\n"
    library = library_of("```{.python .input}\nx = 1  #@save\n```\n", older)
    assert library.text.startswith(WARNING_LINE + "\n")
    assert library_of("```{.python .input}\nx = 1  #@save\n```\n").text.startswith('"""The d2l library for pytorch')


def test_index_records_positions_uses_and_a_source_map():
    text = "```{.python .input}\ndef a():  #@save\n    return 1\n```\n\n```{.python .input}\ndef b():  #@save\n    return d2l.a() + helper\n```\n"
    library = library_of(text)
    first, second = library.index["definitions"]
    assert (first["names"], first["path"], first["line"]) == (["a"], "ch.md", 2)
    assert second["uses"] == ["a"]
    lines = library.text.splitlines()
    chapter = split_lines(text)
    assert library.index["source_map"]
    for start, count, _, line, _ in library.index["source_map"]:
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
        "normal = lambda m, s, shape: tf.random.normal(shape, m, s)",
        "",
        "zeros = tf.zeros",
        "tensor = tf.constant",
        "numpy = lambda x, *args, **kwargs: x.numpy(*args, **kwargs)",
        "astype = lambda x, *args, **kwargs: tf.cast(x, *args, **kwargs)",
    ]
    library = library_of("```{.python .input}\nimport tensorflow as tf  #@save\n```\n", lib=lib)
    assert library.text.endswith("astype = lambda x, *args, **kwargs: tf.cast(x, *args, **kwargs)\n\n")


def test_add_to_class_grows_a_class_of_an_earlier_section():
    first = "```{.python .input}\nclass Vocab:  #@save\n    pass\n```\n"
    later = "```{.python .input}\n@d2l.add_to_class(d2l.Vocab)  #@save\ndef encode(self, text):\n    return list(text)\n```\n"
    library = build_library(blocks_of(first, "a.md") + blocks_of(later, "b.md"), LIB, None, 2)
    assert library.text.endswith("class Vocab:\n    pass\n\n    def encode(self, text):\n        return list(text)\n")
    assert library.index["definitions"][0]["methods"] == [{"name": "encode", "path": "b.md", "line": 3, "cell": None}]
