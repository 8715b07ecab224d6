"""Build a fetched source tree with clang-22 embedding pre-optimization bitcode.

Compilers are put first on PATH under every name a build may call (cc, gcc,
c++, g++, the triple-prefixed and -12 names) as tiny shell wrappers that exec
clang-22/clang++-22 with ``-Xclang -fembed-bitcode=all``: the -cc1 form, which
embeds the IR *before* optimization in ``.llvmbc`` and the full -cc1 command in
``.llvmcmd`` (the driver's ``-fembed-bitcode=all`` embeds optimized IR and
loses front-end flags).  ar/ranlib/nm are llvm-ar-22/llvm-ranlib-22/llvm-nm-22,
because GNU ar/nm with the system's LLVMgold-14 plugin cannot index objects
that carry LLVM 22 bitcode.  With ``embed=False`` the same wrappers build
without embedding: that is the "plain build" the overhead benchmark compares to.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from irpipe.errors import BuildError
from irpipe.extract.recipes import Recipe
from irpipe.extract.sandbox import Limits, run_step
from irpipe.llvm.tools import Toolchain

_TRIPLE = "x86_64-linux-gnu"
C_NAMES = ("cc", "gcc", "clang", f"{_TRIPLE}-gcc", "gcc-12", f"{_TRIPLE}-gcc-12")
CXX_NAMES = ("c++", "g++", "clang++", f"{_TRIPLE}-g++", "g++-12", f"{_TRIPLE}-g++-12")
BINUTILS = {"ar": "llvm-ar", "ranlib": "llvm-ranlib", "nm": "llvm-nm"}
#: Appended after the build's own flags: keep going on clang-only warnings, and
#: drop debug info (it is stripped from the dataset's hash anyway and is ~5x the IR).
TRAILING_FLAGS = "-Qunused-arguments -Wno-error -g0"
#: Where the wrappers keep objects of single-step compile-and-link commands (inside the scanned tree).
SINGLE_STEP_DIR = ".irpipe-single-step"


@dataclass(frozen=True)
class BuildEnv:
    """The wrapper directory and environment for one build."""

    bindir: Path
    env: dict[str, str]


_COMPILER_WRAPPER = """#!/bin/bash
# irpipe compiler wrapper (generated): clang-22 embedding pre-optimization bitcode.
CLANG={clang}
FLAGS=({flags})
TRAIL=({trail})
# A single-step compile-and-link (cc a.c b.c -o prog) leaves no object file with
# .llvmbc, so each source is compiled with -c into $IRPIPE_SINGLE_STEP_DIR first.
case "$PWD" in */CMakeFiles/*|*/CMakeScratch*|*/CMakeTmp*|*/meson-private*|*/conftest*) unset IRPIPE_SINGLE_STEP_DIR ;; esac
if [ -n "$IRPIPE_SINGLE_STEP_DIR" ]; then
  only=0; skip=0; srcs=(); rest=()
  for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "$a" in
      -c|-S|-E|-M|-MM|-x|-fsyntax-only|-v|--version|-dumpversion|-dumpmachine|-print-*) only=1 ;;
      -o) skip=1; continue ;;
      -o*) continue ;;
      conftest.*|*/conftest.*|sanitycheck*|*/sanitycheck*|*CompilerId*|*CompilerABI*|*/CMakeFiles/*) only=1 ;;
      *.c|*.cc|*.cpp|*.cxx|*.c++|*.C) srcs+=("$a"); continue ;;
    esac
    rest+=("$a")
  done
  if [ $only = 0 ] && [ ${{#srcs[@]}} -gt 0 ]; then
    # compile each source once into a kept object, then link those objects (what the
    # driver does internally with temporaries); on any failure, run the original command
    mkdir -p "$IRPIPE_SINGLE_STEP_DIR"
    link=(); ok=1
    for a in "$@"; do
      case "$a" in
        *.c|*.cc|*.cpp|*.cxx|*.c++|*.C)
          b=${{a##*/}}
          key=$(printf '%s\\n' "${{PWD#${{IRPIPE_SINGLE_STEP_DIR%/*}}}}" "$a" | cksum | cut -d' ' -f1)
          obj="$IRPIPE_SINGLE_STEP_DIR/$key-${{b%.*}}.o"
          "$CLANG" "${{FLAGS[@]}}" "${{rest[@]}}" -c "$a" -o "$obj" "${{TRAIL[@]}}" || {{ ok=0; break; }}
          link+=("$obj") ;;
        *) link+=("$a") ;;
      esac
    done
    if [ $ok = 1 ]; then exec "$CLANG" "${{FLAGS[@]}}" "${{link[@]}}" "${{TRAIL[@]}}"; fi
  fi
fi
exec "$CLANG" "${{FLAGS[@]}}" "$@" "${{TRAIL[@]}}"
"""


def write_wrappers(bindir: Path, tools: Toolchain, *, embed: bool = True) -> None:
    """Create the compiler and binutils wrappers in ``bindir``."""
    bindir.mkdir(parents=True, exist_ok=True)
    flags = "-Xclang -fembed-bitcode=all" if embed else ""
    for names, tool in ((C_NAMES, "clang"), (CXX_NAMES, "clang++")):
        body = _COMPILER_WRAPPER.format(clang=shlex.quote(tools.path(tool)), flags=flags, trail=TRAILING_FLAGS)
        for name in names:
            _write_exe(bindir / name, body)
    for short, tool in BINUTILS.items():
        body = f'#!/bin/sh\nexec {shlex.quote(tools.path(tool))} "$@"\n'
        for name in (short, f"{_TRIPLE}-{short}", f"gcc-{short}", f"{_TRIPLE}-gcc-{short}"):
            _write_exe(bindir / name, body)


def _write_exe(path: Path, body: str) -> None:
    path.write_text(body)
    path.chmod(0o755)


def build_env(work: Path, tools: Toolchain, recipe: Recipe, *, embed: bool = True, jobs: int = 1) -> BuildEnv:
    """Wrappers plus a clean, offline environment for ``recipe``'s build."""
    bindir = work / "wrap-bin"
    write_wrappers(bindir, tools, embed=embed)
    home = work / "home"
    home.mkdir(exist_ok=True)
    path = f"{bindir}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    env = {
        "PATH": path, "HOME": str(home), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TERM": "dumb",
        "CC": "cc", "CXX": "c++", "AR": "ar", "RANLIB": "ranlib", "NM": "nm",
        "CFLAGS": "-O2", "CXXFLAGS": "-O2", "MAKEFLAGS": f"-j{jobs}",
        "DEB_BUILD_OPTIONS": f"nocheck nostrip nodoc noautodbgsym parallel={jobs}",
        "DEB_BUILD_PROFILES": "nocheck nodoc", "DEBIAN_FRONTEND": "noninteractive",
        "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "CARGO_INCREMENTAL": "0",
        "CARGO_HOME": str(home / ".cargo"), "SOURCE_DATE_EPOCH": "1700000000",
    }
    env.update(dict(recipe.env))
    return BuildEnv(bindir=bindir, env=env)


def _cargo_workspace(registry: Path, recipe: Recipe, work: Path) -> Path:
    """A wrapper crate that depends on the crate, with crates-io replaced by ``registry``."""
    ws = work / "cargo-ws"
    (ws / "src").mkdir(parents=True, exist_ok=True)
    (ws / "src" / "lib.rs").write_text("")
    (ws / "Cargo.toml").write_text(
        '[package]\nname = "irpipe-wrap"\nversion = "0.0.0"\nedition = "2021"\n\n'
        f'[dependencies]\n{recipe.name} = "={recipe.version.split("-")[0]}"\n')
    (ws / ".cargo").mkdir(exist_ok=True)
    (ws / ".cargo" / "config.toml").write_text(
        f'[source.crates-io]\nreplace-with = "debian"\n[source.debian]\ndirectory = "{registry}"\n'
        '[net]\noffline = true\n')
    return ws


def build(recipe: Recipe, src: Path, work: Path, tools: Toolchain, *, limits: Limits,
          log: Path, embed: bool = True, jobs: int = 1, buildreq: Path | None = None) -> Path:
    """Build ``src`` per ``recipe.build_kind``; return the tree to scan for objects."""
    benv = build_env(work, tools, recipe, embed=embed, jobs=jobs)
    env = benv.env
    if embed:
        env["IRPIPE_SINGLE_STEP_DIR"] = str(src / SINGLE_STEP_DIR)
    cwd = src / recipe.subdir if recipe.subdir else src
    make = ["make", f"-j{jobs}", *recipe.make_args]

    def step(argv: list[str], what: str, at: Path = cwd) -> None:
        run_step(argv, cwd=at, env=env, log=log, limits=limits, what=f"{recipe.id}: {what}")

    kind = recipe.build_kind
    if kind == "autoconf":
        if not (cwd / "configure").exists():
            step(["autoreconf", "-fi"], "autoreconf")
        step(["sh", "./configure", *recipe.args], "configure")
        step(make, "make")
    elif kind == "make":
        step(make, "make")
    elif kind == "cmake":
        step(["cmake", "-S", ".", "-B", "_irpipe_build", "-DCMAKE_BUILD_TYPE=Release",
              "-DCMAKE_C_COMPILER=cc", "-DCMAKE_CXX_COMPILER=c++", *recipe.args], "cmake")
        step(["cmake", "--build", "_irpipe_build", "-j", str(jobs)], "cmake --build")
    elif kind == "meson":
        step(["meson", "setup", "_irpipe_build", "--buildtype=release", *recipe.args], "meson setup")
        step(["ninja", "-C", "_irpipe_build", f"-j{jobs}"], "ninja")
    elif kind == "debian-rules":
        step(["dpkg-buildpackage", "-us", "-uc", "-ui", "-d", "-b", "-T", "build-arch"], "dpkg-buildpackage -T build-arch")
    elif kind == "setuptools":
        if buildreq is not None:
            env["PYTHONPATH"] = str(buildreq)
        step([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
              "-w", str(work / "dist"), *recipe.args, "."], "pip wheel (setuptools build_ext)")
    elif kind == "cargo":
        ws = _cargo_workspace(src, recipe, work)
        env["RUSTFLAGS"] = "--emit=llvm-bc,link -C no-prepopulate-passes -C codegen-units=1 -C debuginfo=0"
        step(["cargo", "build", "--release", "--offline", *recipe.args], "cargo build", at=ws)
        return ws / "target"
    else:
        raise BuildError(f"{recipe.id}: build kind {kind!r} is not built by build() (numba has its own stage)")
    return src


def install_build_deps(src: Path, log: Path, limits: Limits) -> None:
    """``apt-get build-dep`` for a Debian source tree (system binary lists; needs root)."""
    if os.geteuid() != 0:
        raise BuildError("installing Debian build dependencies needs root (or preinstall them and "
                         "set install_build_deps = false)")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"}
    run_step(["apt-get", "-o", "DPkg::Lock::Timeout=600", "build-dep", "-y", "--no-install-recommends", str(src)],
             cwd=src, env=env, log=log, limits=Limits(deadline=limits.deadline, memory_mb=limits.memory_mb,
                                                      network=True), what="apt-get build-dep")
