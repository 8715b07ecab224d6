"""``pip install .``: the package, plus the native libraries and the default models it needs.

Everything else (name, dependencies, entry point) is in pyproject.toml.  A wheel of irpipe carries:

* ``irpipe/_native/``: ``libIRPipeAnalysis.so`` and the pass plugin ``libIRPipe.so`` -- the
  checkout's ``passes/build/lib`` when it is newer than every source in ``passes/`` (``make
  native``), else a fresh CMake build in setuptools' build_temp when LLVM 22's CMake files are
  present (Debian's llvm-22-dev; cmake, and ninja-build when present), else nothing: irpipe then
  says how to get them when a command needs them;
* ``irpipe/_models/``: ``models/default``, ``models/inliner``, ``models/mlir-cost`` and ``models/loop-decisions`` (without
  their plots).

An editable install (``make setup``) copies nothing: irpipe finds both in the checkout.  The
lookup order is in irpipe/paths.py.  The libraries link the system's libLLVM-22 (RUNPATH
/usr/lib/llvm-22/lib), so the wheel is for this platform, not ``py3-none-any``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
LIBRARIES = ("libIRPipeAnalysis.so", "libIRPipe.so")  # irpipe.paths.NATIVE_LIBRARY, PASS_PLUGIN
MODELS = ("default", "inliner", "mlir-cost", "loop-decisions")  # irpipe.paths.DEFAULT_MODELS
LLVM_CMAKE_DIR = Path("/usr/lib/llvm-22/lib/cmake/llvm")


def _say(message: str) -> None:
    print(f"irpipe setup: {message}", file=sys.stderr, flush=True)


def _sources() -> list[Path]:
    passes = ROOT / "passes"
    return [passes / "CMakeLists.txt", *passes.glob("lib/*.cpp"), *passes.glob("include/irpipe/*.h")]


def _fresh_build() -> Path | None:
    """The checkout's ``passes/build/lib`` when both libraries are newer than every source."""
    built = ROOT / "passes" / "build" / "lib"
    libs = [built / name for name in LIBRARIES]
    sources = [p for p in _sources() if p.is_file()]
    if not sources or not all(lib.is_file() for lib in libs):
        return None
    newest_source = max(p.stat().st_mtime for p in sources)
    return built if min(lib.stat().st_mtime for lib in libs) >= newest_source else None


def _cmake_build(build_temp: Path) -> Path | None:
    """Build ``passes/`` with CMake under ``build_temp``; None when LLVM 22's CMake files are absent."""
    cmake = shutil.which("cmake")
    if cmake is None or not (LLVM_CMAKE_DIR / "LLVMConfig.cmake").is_file() or not (ROOT / "passes").is_dir():
        return None
    out = build_temp / "passes"
    argv = [cmake, "-S", str(ROOT / "passes"), "-B", str(out), "-DCMAKE_BUILD_TYPE=Release",
            f"-DLLVM_DIR={LLVM_CMAKE_DIR}"]
    if shutil.which("ninja"):
        argv += ["-G", "Ninja"]
    if shutil.which("clang++-22"):
        argv.append("-DCMAKE_CXX_COMPILER=clang++-22")
    _say(f"building passes/ with CMake in {out}")
    subprocess.run(argv, check=True)
    subprocess.run([cmake, "--build", str(out)], check=True)
    return out / "lib"


class BuildPy(build_py):
    """build_py, then the native libraries and the default models into the build tree."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install finds passes/build and models/ in the checkout
        package = Path(self.build_lib) / "irpipe"
        self._copy_native(package / "_native")
        self._copy_models(package / "_models")

    def _copy_native(self, dest: Path) -> None:
        where = _fresh_build() or _cmake_build(Path(self.get_finalized_command("build").build_temp))
        if where is None:
            _say("no native library in this install: LLVM 22's CMake files (llvm-22-dev) or cmake not "
                 "found and passes/build/lib is missing or older than its sources; irpipe's analyses "
                 "will ask for IRPIPE_NATIVE_LIB")
            return
        dest.mkdir(parents=True, exist_ok=True)
        for name in LIBRARIES:
            shutil.copy2(where / name, dest / name)

    def _copy_models(self, dest: Path) -> None:
        for name in MODELS:
            src = ROOT / "models" / name
            if not src.is_dir():
                _say(f"models/{name} is missing: the installed irpipe has no {name} model")
                continue
            shutil.rmtree(dest / name, ignore_errors=True)
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("plots", "last", "ray", "__pycache__"))


class PlatformDistribution(Distribution):
    """The native libraries make the wheel platform-specific."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPy}, distclass=PlatformDistribution)
