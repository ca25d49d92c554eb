"""The variables a kernel inherits from the environment d2lbuild runs in, and those that count in the cache key.

A kernel gets only the variables listed here (plus config.ini's ``env`` and d2lbuild's own): the counted ones
can change what a notebook prints, so their values are part of every notebook's cache key; the passed ones
are needed to run at all (where programs and the home folder are) and are declared not to change results.
Every other variable of the caller is left out of the kernels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Counted: these can change a notebook's outputs (hash order, threads and their results, devices, locale, paths
# of imported code, the frameworks' own settings).
COUNTED_NAMES = frozenset({"LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "LD_PRELOAD", "DYLD_LIBRARY_PATH", "MPLBACKEND"})
COUNTED_PREFIXES = (
    "PYTHON",  # PYTHONHASHSEED, PYTHONPATH, PYTHONWARNINGS, PYTHONUTF8, PYTHONIOENCODING, ...
    "LC_", "OMP_", "MKL_", "OPENBLAS_", "KMP_", "BLIS_", "VECLIB_", "NUMEXPR_", "CUDA_", "CUBLAS_", "CUDNN_", "NCCL_",
    "NVIDIA_", "TRITON_", "TF_", "KERAS_", "MXNET_", "TORCH_", "PYTORCH_", "JAX_", "XLA_", "D2L_",
)
# Passed but not counted: where things are, who runs them; a change of these does not make a notebook run again.
PASSED_NAMES = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "USERNAME", "SHELL", "TERM", "TMPDIR", "TEMP", "TMP", "VIRTUAL_ENV",
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "APPDATA", "LOCALAPPDATA", "USERPROFILE",
    "PROGRAMDATA", "PROGRAMFILES",
})
PASSED_PREFIXES = ("JUPYTER_", "D2LBUILD_", "CONDA_", "XDG_")


def counted(name: str) -> bool:
    """Whether a variable's value is part of the cache key."""
    return name in COUNTED_NAMES or name.startswith(COUNTED_PREFIXES)


def passed(name: str) -> bool:
    """Whether a kernel inherits a variable of the caller."""
    return counted(name) or name in PASSED_NAMES or name.startswith(PASSED_PREFIXES)


def inherited(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's variables a kernel gets."""
    return {name: value for name, value in environ.items() if passed(name.upper() if _case_blind() else name)}


def counted_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's variables that are part of the cache key, sorted by name."""
    return {name: environ[name] for name in sorted(environ) if counted(name.upper() if _case_blind() else name)}


def _case_blind() -> bool:
    return os.name == "nt"  # Windows' variable names ignore case
