"""Where irpipe finds its files: the native libraries, the default models, the source checkout.

Every such lookup goes through here.  First hit wins:

native library ``libIRPipeAnalysis.so`` (the pass plugin ``libIRPipe.so`` lies next to it)
  1. ``$IRPIPE_NATIVE_LIB``, the library file itself (when set, nothing else is tried)
  2. the source checkout's build: ``passes/build/lib`` (``make native``)
  3. the installed package: ``irpipe/_native`` (``pip install .`` copies or builds it there
     when LLVM 22's CMake files are present; see setup.py)

models (``default``, ``inliner``, ``mlir-cost``, ``loop-decisions``: the ones irpipe's commands default to)
  1. the source checkout: ``models/NAME``
  2. the installed package: ``irpipe/_models/NAME``

The source checkout is the folder above ``irpipe/`` when it holds ``passes/CMakeLists.txt``:
an editable install or a run from the tree.  A wheel install has none, and uses the package's
own copies.

    USAGE: lib = native_library(); model = model_dir("default")
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
NATIVE_LIBRARY = "libIRPipeAnalysis.so"
PASS_PLUGIN = "libIRPipe.so"
PACKAGED_NATIVE = PACKAGE / "_native"
PACKAGED_MODELS = PACKAGE / "_models"
#: the models a wheel carries: the defaults of optimize/serve/bench, serve's inliner, predict-cost's
DEFAULT_MODELS = ("default", "inliner", "mlir-cost", "loop-decisions")
NATIVE_ENV = "IRPIPE_NATIVE_LIB"


def checkout() -> Path | None:
    """The source checkout this irpipe runs from, or None for an installed wheel."""
    root = PACKAGE.parent
    return root if (root / "passes" / "CMakeLists.txt").is_file() else None


def native_candidates() -> list[Path]:
    """Where the native library may be, in lookup order (only ``$IRPIPE_NATIVE_LIB`` when set)."""
    override = os.environ.get(NATIVE_ENV)
    if override:
        return [Path(override)]
    root = checkout()
    built = [root / "passes" / "build" / "lib" / NATIVE_LIBRARY] if root else []
    return [*built, PACKAGED_NATIVE / NATIVE_LIBRARY]


def native_library() -> Path:
    """The native library's path: the first candidate that exists, else the first candidate."""
    candidates = native_candidates()
    return next((p for p in candidates if p.is_file()), candidates[0])


def pass_plugin() -> Path:
    """The pass plugin, next to the native library that :func:`native_library` chose."""
    return native_library().parent / PASS_PLUGIN


def native_missing_hint() -> str:
    """Where the native library was looked for and what to do: the error line after "not found: "."""
    if os.environ.get(NATIVE_ENV):
        return f"{NATIVE_ENV}={os.environ[NATIVE_ENV]} does not exist"
    looked = ", ".join(str(p.parent) for p in native_candidates())
    how = ("build it with `make native` (CMake + Debian's llvm-22-dev)" if checkout() else
           "reinstall irpipe where LLVM 22's CMake files and cmake are present (apt-get install llvm-22-dev "
           "cmake ninja-build clang-22), or build passes/ with CMake")
    return f"looked in {looked}; {how}, or set {NATIVE_ENV} to the library file"


def model_dir(name: str) -> Path:
    """The folder of model ``name`` (one of :data:`DEFAULT_MODELS` for an installed wheel): the
    checkout's ``models/NAME`` or the package's copy; the package path when neither exists."""
    root = checkout()
    if root and (root / "models" / name).is_dir():
        return root / "models" / name
    return PACKAGED_MODELS / name


def repo_file(*parts: str) -> Path | None:
    """A file or folder of the source checkout (e.g. ``constraints.txt``), None without one."""
    root = checkout()
    return root.joinpath(*parts) if root else None
