"""Rewritten calls are printed as astor 0.8 (d2lbook's printer) prints them, without astor."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from d2lbuild.callprint import lay_out, pieces, print_call

# What astor 0.8.1 prints for these calls (line breaks only in calls longer than 79 characters).
GOLDEN = {
    "lib.ones((2, 3))": "lib.ones((2, 3))",
    "d2l.reshape(outputs_of_the_decoder_layer, (batch_size_of_inputs, 2, number_of_blocks, heads, steps))":
        "d2l.reshape(outputs_of_the_decoder_layer, (batch_size_of_inputs, 2,\n    number_of_blocks, heads, steps))",
    "lib.concat([item[0][0][0] for item in sequence_of_weights_from_decoder], 0).reshape((1, 1, -1, steps))":
        "lib.concat([item[0][0][0] for item in sequence_of_weights_from_decoder], 0\n    ).reshape((1, 1, -1, steps))",
    "lib.concat(model.encoder_block.weights_of_attention, 0).reshape((layer_count, head_count, -1, steps))":
        "lib.concat(model.encoder_block.weights_of_attention, 0).reshape((\n    layer_count, head_count, -1, steps))",
    "lib.stack([values[i:i + window_size, :, ::2] for i in range(total_length - window_size)], axis=0)":
        "lib.stack([values[i:i + window_size, :, ::2] for i in range(total_length -\n    window_size)], axis=0)",
    "frame.transpose(x.reshape(batch, -1, self.num_hidden_units * 2 ** level), perm=[0, 2, 1], conjugate=False)":
        "frame.transpose(x.reshape(batch, -1, self.num_hidden_units * 2 ** level),\n    perm=[0, 2, 1], conjugate=False)",
    "lib.where(mask_of_positions != 0, scores_of_every_query_key_pair, {'fill': -1000000.0, 'mode': 'x'})":
        "lib.where(mask_of_positions != 0, scores_of_every_query_key_pair, {'fill': \n    -1000000.0, 'mode': 'x'})",
}
REAL_BOOKS = Path(__file__).resolve().parents[3] / "shared" / "compat" / "books"


def call(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


@pytest.mark.parametrize("source", GOLDEN)
def test_calls_are_printed_as_astor_prints_them(source):
    assert print_call(call(source)) == GOLDEN[source]


def test_the_pieces_leave_room_for_brackets_where_astor_does():
    assert pieces(call("f(a - 1, x[-1], y[1:2, :], True, None)")) == [
        "f", "(", "", "a", " - ", "", "1", ", ", "x", "[", "", "-", "", "1", "]", ", ",
        "y", "[", "", "", "1", ":", "", "2", ", ", ":", "]", ", ", "", "True", ", ", "None", ")"]


def test_a_short_call_is_one_line_and_a_long_one_breaks_only_inside_brackets():
    assert lay_out(["f", "(", "a", ")"]) == "f(a)"
    wrapped = print_call(call("f(" + ", ".join(f"argument_{n}" for n in range(12)) + ")"))
    assert all(len(line) <= 79 for line in wrapped.split("\n")) and wrapped.count("\n") == 1
    assert wrapped.split("\n")[1].startswith("    ")


def test_what_the_subset_does_not_cover_is_printed_by_python():
    assert print_call(call("f(lambda x: x)")) == "f(lambda x: x)"
    assert print_call(call("f(*(a for a in b))")) == "f(*(a for a in b))"


def random_expression(rng: random.Random, depth: int) -> str:
    names = ["x", "steps", "batch_size", "net", "weights", "valid_lens"]
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice([rng.choice(names), str(rng.randint(0, 300)), "-1", "0.5", "'s'", "True", "None"])
    inner = [random_expression(rng, depth - 1) for _ in range(rng.randint(1, 3))]
    return rng.choice([
        f"{rng.choice(names)}.{rng.choice(names)}({', '.join(inner)})", f"{rng.choice(names)}[{inner[0]}, :, ::2]",
        f"({inner[0]} {rng.choice(['+', '-', '*', '**', '/'])} {inner[-1]})", f"({', '.join(inner)},)", f"[{', '.join(inner)}]",
        f"f({inner[0]}, axis={inner[-1]})", f"{{'k': {inner[0]}}}", f"-{inner[0]}", f"{rng.choice(names)}[{inner[0]}:{inner[-1]}]",
    ])


def test_random_calls_match_astor_wherever_astor_spells_them_as_python_does():
    astor = pytest.importorskip("astor")
    from astor.code_gen import SourceGenerator

    rng, compared = random.Random(20), 0
    for _ in range(400):
        node = call(f"d2l.f({', '.join(random_expression(rng, 3) for _ in range(rng.randint(1, 4)))})")
        generator = SourceGenerator(indent_with="    ")
        generator.visit(node)
        if "".join(generator.result) != ast.unparse(node):  # astor's own spellings ((35) in a comprehension, ...)
            continue
        compared += 1
        assert print_call(node) == astor.to_source(node).rstrip("\n"), ast.unparse(node)
    assert compared > 200


@pytest.mark.book
def test_every_call_the_real_books_rewrite_is_printed_as_astor_prints_it(monkeypatch, tmp_path):
    astor = pytest.importorskip("astor")
    if not REAL_BOOKS.is_dir():
        pytest.skip("../shared/compat/books is not beside the repository")
    import shutil

    from conftest import run

    import d2lbuild.aliases as aliases

    printed: list[ast.expr] = []
    aliases._rewritten_calls.cache_clear()  # calls rewritten earlier in this process are printed again
    monkeypatch.setattr(aliases, "print_call", lambda node: printed.append(node) or print_call(node))
    for name in ("d2l-en", "d2l-zh"):
        root = tmp_path / name
        shutil.copytree(REAL_BOOKS / name, root)
        assert run(root, "notebooks").exit_code == 0
    assert len(printed) > 100
    for node in printed:
        assert print_call(node) == astor.to_source(node).rstrip("\n")
