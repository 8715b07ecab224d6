"""Find, version-check and run every LLVM tool irpipe uses.

A :class:`Toolchain` resolves each tool once (``NAME-22`` on PATH, then
``/usr/lib/llvm-22/bin/NAME``), checks that it reports LLVM 22, and runs it
through the one process runner (:mod:`irpipe.runtime.process`) with a timeout;
a failure raises an error that names the tool and ends with the tail of its stderr.

    USAGE: Toolchain().run("opt", ["-passes=instcombine", "a.ll", "-S"])
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from irpipe.errors import ToolError, ToolNotFound, ToolVersionMismatch
from irpipe.runtime import process
from irpipe.runtime.process import Child, Finished

#: The one LLVM major version irpipe supports.
LLVM_MAJOR = 22
#: Tools irpipe runs, by their unversioned name.
TOOLS = (
    "clang", "clang++", "opt", "llc", "llvm-objcopy", "llvm-ar", "llvm-ranlib",
    "llvm-nm", "llvm-dis", "llvm-as", "llvm-link", "llvm-mca", "llvm-objdump", "llvm-profdata", "mlir-opt",
)
#: Tools a build wrapper or extraction cannot do without.
REQUIRED_FOR_EXTRACT = ("clang", "clang++", "llvm-ar", "llvm-ranlib", "llvm-nm", "llvm-objcopy")
DEFAULT_BINDIR = Path(f"/usr/lib/llvm-{LLVM_MAJOR}/bin")
_VERSION_RE = re.compile(r"(?:LLVM|clang) version (\d+)\.(\d+)\.(\d+)")
_RUST_LLVM_RE = re.compile(r"^LLVM version: (\d+)\.(\d+)\.(\d+)", re.M)


@dataclass(frozen=True)
class ToolInfo:
    """A resolved tool: its name, absolute path and the version it reports."""

    name: str
    path: str
    version: str


@dataclass
class Toolchain:
    """The LLVM 22 tools, found and checked lazily, once each.

    Args:
        search_path: PATH to search for ``NAME-22`` (default: ``$PATH``).
        bindir: fallback directory holding unversioned names (default
            ``/usr/lib/llvm-22/bin``).
        timeout: default seconds before a tool run is killed.
    """

    search_path: str | None = None
    bindir: Path | None = DEFAULT_BINDIR
    timeout: float = 600.0
    _cache: dict[str, ToolInfo] = field(default_factory=dict, repr=False)

    def find(self, name: str) -> ToolInfo:
        """Resolve ``name`` (e.g. ``"opt"``) to a version-checked LLVM 22 tool."""
        if name in self._cache:
            return self._cache[name]
        versioned = f"{name}-{LLVM_MAJOR}"
        path = shutil.which(versioned, path=self.search_path)
        if path is None and self.bindir is not None and (self.bindir / name).is_file():
            path = str(self.bindir / name)
        if path is None:
            raise ToolNotFound(
                f"{versioned} not found on PATH or in {self.bindir}; irpipe supports LLVM "
                f"{LLVM_MAJOR} only (Debian: apt-get install clang-{LLVM_MAJOR} llvm-{LLVM_MAJOR} "
                f"llvm-{LLVM_MAJOR}-tools lld-{LLVM_MAJOR} mlir-{LLVM_MAJOR}-tools)")
        version = self._version_of(versioned, path)
        info = ToolInfo(name=name, path=path, version=version)
        self._cache[name] = info
        return info

    def _version_of(self, versioned: str, path: str) -> str:
        try:
            proc = process.run([path, "--version"], what=versioned, timeout=30, check=False)
        except ToolError as exc:
            raise ToolVersionMismatch(f"{versioned} at {path} did not report a version: {exc}") from exc
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        match = _VERSION_RE.search(out)
        if match is None:
            raise ToolVersionMismatch(
                f"{versioned} at {path} printed no LLVM version; supported: LLVM {LLVM_MAJOR}.x")
        if int(match.group(1)) != LLVM_MAJOR:
            raise ToolVersionMismatch(
                f"{versioned} at {path} is LLVM {'.'.join(match.groups())}; "
                f"supported: LLVM {LLVM_MAJOR}.x only")
        return ".".join(match.groups())

    def path(self, name: str) -> str:
        """Absolute path of a checked tool (for build wrappers that exec it)."""
        return self.find(name).path

    def check(self, names: Sequence[str] = TOOLS) -> dict[str, ToolInfo]:
        """Resolve several tools; raises on the first missing or mismatched one."""
        return {n: self.find(n) for n in names}

    def run(
        self,
        name: str,
        args: Sequence[str],
        *,
        input: bytes | None = None,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> Finished:
        """Run tool ``name`` with ``args``; raise :class:`~irpipe.errors.ToolFailed` /
        :class:`~irpipe.errors.ToolTimeout` (the result also has the tool's CPU seconds)."""
        info = self.find(name)
        limit = self.timeout if timeout is None else timeout
        return process.run([info.path, *args], what=f"{name}-{LLVM_MAJOR}", input=input, cwd=cwd,
                           timeout=limit, check=check)

    def start(self, name: str, args: Sequence[str], **streams: object) -> Child:
        """Start tool ``name`` without waiting (for tools that talk to us while they run, such as
        LLVM's interactive ML advisors); the caller waits, with its own timeout.  ``streams``:
        :func:`irpipe.runtime.process.start`'s keywords (stdin, stdout, stderr, cwd, env...)."""
        return process.start([self.find(name).path, *args], what=f"{name}-{LLVM_MAJOR}",
                             **streams)  # type: ignore[arg-type]


def rustc_llvm_version(rustc: str = "/usr/bin/rustc") -> str:
    """LLVM version of the pinned rustc (Debian's rustc-web), checked to be LLVM 22 (``rustc -vV``)."""
    path = shutil.which(rustc)
    if path is None:
        raise ToolNotFound(f"{rustc} not found on PATH; Rust extraction needs a rustc whose "
                           f"LLVM is {LLVM_MAJOR}")
    proc = process.run([path, "-vV"], what=rustc, timeout=30, text=True, check=False)
    match = _RUST_LLVM_RE.search(proc.stdout)
    if match is None or int(match.group(1)) != LLVM_MAJOR:
        got = ".".join(match.groups()) if match else "unknown"
        raise ToolVersionMismatch(f"{rustc} at {path} uses LLVM {got}; supported: LLVM "
                                  f"{LLVM_MAJOR}.x (Debian rustc-web 1.96, installed by the Makefile)")
    return ".".join(match.groups())
