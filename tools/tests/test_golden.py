"""The small test book, built and compared byte for byte with reviewed outputs.

After an intended change, regenerate with ``D2LBUILD_UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and review the diff of tests/golden/.
"""

from __future__ import annotations

import os
from pathlib import Path

from conftest import TESTS, run, snapshot

GOLDEN = TESTS / "golden" / "small"


def built_outputs(root: Path) -> dict[str, bytes]:
    assert run(root, "extract").exit_code == 0
    assert run(root, "notebooks").exit_code == 0
    outputs = {f"d2l/{name}": data for name, data in snapshot(root / "d2l").items()}
    outputs.update({f"notebooks/{name}": data for name, data in snapshot(root / "build/notebooks").items()})
    return outputs


def test_small_book_matches_golden_files(small_book):
    outputs = built_outputs(small_book)
    if os.environ.get("D2LBUILD_UPDATE_GOLDEN"):
        for name, data in outputs.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    assert outputs == snapshot(GOLDEN)


def test_small_book_outputs_say_what_the_rules_say(small_book):
    built_outputs(small_book)
    torch_lib = (small_book / "d2l/torch.py").read_text()
    assert "    def forward(self, x):" in torch_lib  # add_to_class folded into Model
    assert "@d2l.add_to_class(Unsaved)" in torch_lib  # no saved class: stays decorated
    assert "Defined in :numref:`sec_models`" in torch_lib
    assert 'normal = lambda mean, std, shape' in (small_book / "d2l/tensorflow.py").read_text()
    assert (small_book / "d2l/__init__.py").read_text() == '__version__ = "1.2.3"\n'
    tensors = (small_book / "build/notebooks/tensorflow/chapter_basics/tensors.ipynb").read_text()
    assert "tf.reshape(tf.constant([1, 2, 3, 4]), (2, 2))" in tensors and "load_ext" not in tensors
    assert not (small_book / "build/notebooks/pytorch/README.ipynb").exists()
