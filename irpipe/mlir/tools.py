"""Find, version-check and run IREE's compiler and runtime tools: the only module that starts them.

Why IREE (``iree-base-compiler`` / ``iree-base-runtime`` 3.13.0, pinned in
requirements.in) and not Debian's mlir-22-tools for MLIR:

* ``iree-compile`` lowers StableHLO (what ``jax.jit(f).lower(...)`` emits) all
  the way to native x86 code, and dumps every phase on the way
  (``--dump-compilation-phases-to``): one compile yields the whole lowering
  ladder the dataset stores (input/linalg, flow, stream, codegen in the LLVM
  dialect, hal, vm).  mlir-opt-22 has no StableHLO dialect at all.
* ``iree-benchmark-module`` runs a compiled module natively with
  Google-benchmark statistics, so labels come from real execution.
* The MLIR Python bindings in ``iree.compiler.ir`` parse the same MLIR version
  that ``iree-compile`` prints; mixing versions breaks (see shared/MISSION.md).
* jaxlib's own MLIR (``jaxlib.mlir``) needs jax's registry and lowers nothing.

IREE bundles its own LLVM (24.0.0git for 3.13.0); LLVM-IR work stays on Debian's
LLVM 22 through :mod:`irpipe.llvm.tools`.

valgrind 3.19 cannot run IREE's runtime as shipped: its io_uring proactor
blocks forever under valgrind.  IREE falls back to a POSIX proactor when
``io_uring_setup`` is refused, so instruction counts run with a tiny
``LD_PRELOAD`` shim (built once with clang-22) that refuses it.

    USAGE: tools = IreeTools(); tools.run("iree-compile", ["a.mlir", "-o", "a.vmfb", ...])
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from irpipe.errors import ToolError, ToolNotFound, ToolVersionMismatch
from irpipe.llvm.tools import Toolchain
from irpipe.runtime import process
from irpipe.runtime.process import Finished

#: The IREE release irpipe supports (major.minor).
IREE_VERSION = "3.13"
COMPILER_TOOLS = ("iree-compile", "iree-opt")
RUNTIME_TOOLS = ("iree-benchmark-module", "iree-run-module")
_VERSION_RE = re.compile(r"IREE compiler version (\d+)\.(\d+)\.(\d+)")
_INSTALL = ("pip install -c constraints.txt iree-base-compiler==3.13.0 iree-base-runtime==3.13.0 "
            "(make venv does this)")

_SHIM_C = r"""
/* Refuse io_uring_setup so that IREE's runtime uses its POSIX proactor (valgrind hangs on io_uring). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
long syscall(long nr, ...) {
  static long (*real)(long, ...) = 0;
  va_list ap; long a[6]; va_start(ap, nr);
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  if (nr == SYS_io_uring_setup) { errno = EPERM; return -1; }
  if (!real) real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
"""


def _tool_path(name: str) -> Path:
    """Where the pip-installed IREE ships ``name`` (the real binary, not the console-script shim)."""
    try:
        if name in COMPILER_TOOLS:
            import iree.compiler as comp

            return Path(comp.__file__).parent / "_mlir_libs" / name
        import iree._runtime_libs as rt

        return Path(rt.__file__).parent / name
    except ImportError as exc:
        raise ToolNotFound(f"{name}: IREE is not installed ({exc}); {_INSTALL}") from exc


@dataclass
class IreeTools:
    """IREE's tools, found and checked once.  ``timeout`` is the default per run, in seconds."""

    timeout: float = 600.0
    _paths: dict[str, str] = field(default_factory=dict, repr=False)
    _version: str | None = field(default=None, repr=False)

    def path(self, name: str) -> str:
        """Absolute path of a checked IREE tool."""
        if name not in self._paths:
            if name not in COMPILER_TOOLS + RUNTIME_TOOLS:
                raise ToolNotFound(f"{name}: not an IREE tool irpipe runs; known: "
                                   f"{', '.join(COMPILER_TOOLS + RUNTIME_TOOLS)}")
            path = _tool_path(name)
            if not path.is_file():
                raise ToolNotFound(f"{name} not found at {path}; {_INSTALL}")
            self._paths[name] = str(path)
            self.version()
        return self._paths[name]

    def version(self) -> str:
        """The IREE compiler's version; raises unless it is :data:`IREE_VERSION`.x."""
        if self._version is None:
            compile_path = str(_tool_path("iree-compile"))
            try:
                out = process.run([compile_path, "--version"], what="iree-compile", timeout=60, check=False)
            except ToolError as exc:
                raise ToolVersionMismatch(f"iree-compile at {compile_path} did not report a version: {exc}") from exc
            match = _VERSION_RE.search(out.stdout.decode(errors="replace"))
            if match is None or f"{match.group(1)}.{match.group(2)}" != IREE_VERSION:
                found = ".".join(match.groups()) if match else "no version"
                raise ToolVersionMismatch(f"iree-compile at {compile_path} is {found}; "
                                          f"supported: IREE {IREE_VERSION}.x only; {_INSTALL}")
            self._version = ".".join(match.groups())
        return self._version

    def run(self, name: str, args: Sequence[str], *, cwd: str | os.PathLike[str] | None = None,
            timeout: float | None = None, env: dict[str, str] | None = None, wrap: Sequence[str] = (),
            check: bool = True) -> Finished:
        """Run tool ``name`` (optionally under ``wrap``, e.g. valgrind); raise
        :class:`~irpipe.errors.ToolFailed` / :class:`~irpipe.errors.ToolTimeout` with the tail
        of its stderr."""
        limit = self.timeout if timeout is None else timeout
        return process.run([*wrap, self.path(name), *args], what=name, shown=" ".join(args)[:200],
                           cwd=cwd, timeout=limit, env={**os.environ, **(env or {})}, check=check)

    def no_io_uring_shim(self, cache: Path | None = None) -> str:
        """Path of the LD_PRELOAD shim that refuses io_uring (built with clang-22 on first use)."""
        cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "irpipe" / "mlir"
        digest = hashlib.sha256(_SHIM_C.encode()).hexdigest()[:12]
        lib = cache / f"no-io-uring-{digest}.so"
        if not lib.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                src = Path(tmp) / "shim.c"
                src.write_text(_SHIM_C)
                out = Path(tmp) / lib.name
                Toolchain().run("clang", ["-O2", "-shared", "-fPIC", "-o", str(out), str(src), "-ldl"])
                os.replace(out, lib)
        return str(lib)
