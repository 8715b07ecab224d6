"""Build a benchmark through LLVM IR: front end once per TU, then one optimization per variant.

Every variant of a program is compiled the same way except for the IR pipeline:

1. ``clang-22 -c -emit-llvm -O3 -Xclang -disable-llvm-passes -ffp-contract=on`` (plus ``-march=CPU``
   only when the user asks for one: ``irpipe bench --march``) per translation unit (unoptimized IR that keeps -O3's front-end facts: TBAA, lifetimes,
   no optnone), once per benchmark;
2. ``opt-22 -passes=PIPELINE`` per TU (or the pass plugin's ``irpipe-apply`` for advice with
   function pipelines);
3. ``llc-22 -O3`` (``-mcpu=CPU`` with ``--march``) per TU and ``clang-22``/``clang++-22`` to link.

A whole-program plan (:attr:`TUPlan.whole`, :mod:`irpipe.optimize.wholeprogram`) stops step 2 at
bitcode, links every TU's with ``llvm-link-22``, internalizes all but ``main`` and runs the merged
module's pipeline before one ``llc-22``: what ``clang-22 -flto -O3`` builds.

So baseline and candidate share -march, -ffp-contract, the code generator and libc; only
step 2 differs.  Without ``--march`` both are what a user's plain ``clang-22 -O3`` targets (the
triple's default CPU): a measurement setting never changes what the program computes.  Steps run on a small thread pool (the tools are subprocesses).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from irpipe.bench.suite import Benchmark, source_files
from irpipe.errors import BuildError, ToolError
from irpipe.llvm.tools import Toolchain
from irpipe.optimize import advice
from irpipe.runtime import jsonfile

FRONTEND_FLAGS = ("-c", "-emit-llvm", "-O3", "-Xclang", "-disable-llvm-passes", "-ffp-contract=on", "-g0", "-w")
CODEGEN_FLAGS = ("-O3", "-relocation-model=pic", "-filetype=obj")
#: :attr:`TUPlan.pgo` of an instrumented build (linked with the profile runtime)
PGO_GEN = "gen"


def frontend_flags(march: str | None) -> tuple[str, ...]:
    """clang's flags for unoptimized bitcode, with ``-march=`` only when the user chose a CPU."""
    return FRONTEND_FLAGS + ((f"-march={march}",) if march else ())


def codegen_flags(march: str | None) -> tuple[str, ...]:
    """llc's flags, with ``-mcpu=`` only when the user chose a CPU (as ``frontend_flags``)."""
    return CODEGEN_FLAGS + ((f"-mcpu={march}",) if march else ())
#: The old name of :class:`~irpipe.errors.BuildError` here (one class for every failed build).
BuildFailed = BuildError


@dataclass(frozen=True)
class TUPlan:
    """How one translation unit is optimized: a pipeline, or advice applied by the pass plugin."""

    pipeline: str
    advice: dict | None = None  # one irpipe.advice module entry with function pipelines
    loops: dict | None = None   # per-loop decisions (advice v2 "loops") applied inside ``pipeline``
    profile: bool = False       # a counting build: the plugin's loop counters (-irpipe-profile-loops)
    pgo: str = ""               # "gen": LLVM's IR profile instrumentation; a .profdata path: use that profile
    polly: bool = False         # with Polly (irpipe.optimize.polly: opt-22's -polly inside ``pipeline``)
    whole: str = ""             # the merged program's pipeline: every TU's ``pipeline`` output is linked
                                # into one module first (the same ``whole`` for all TUs); "": per TU

    def key(self) -> str:
        """What the TU's object depends on, besides its bitcode and the code generator's flags."""
        pgo = self.pgo if self.pgo in ("", PGO_GEN) else hashlib.sha256(Path(self.pgo).read_bytes()).hexdigest()
        return json.dumps([self.pipeline, self.advice, self.loops, self.profile, *([pgo] if pgo else []),
                           *(["polly"] if self.polly else []), *([["whole", self.whole]] if self.whole else [])],
                          sort_keys=True, default=str)

    def opt_flags(self) -> list[str]:
        """opt-22's flags beyond ``-passes``: :attr:`pgo`'s (instrument, or optimize with the profile:
        ``pipeline`` builds the PGO pipeline, e.g. ``default<O3>``) and :attr:`polly`'s."""
        from irpipe.optimize.polly import POLLY_FLAGS

        polly = list(POLLY_FLAGS) if self.polly else []
        if not self.pgo:
            return polly
        if self.pgo == PGO_GEN:
            return ["-pgo-kind=pgo-instr-gen-pipeline", *polly]
        return ["-pgo-kind=pgo-instr-use-pipeline", f"-profile-file={self.pgo}", *polly]


@dataclass
class Binary:
    """A linked variant: the executable, its .text bytes and how long the build took."""

    label: str
    exe: Path
    text_bytes: int
    build_seconds: float
    plans: dict[str, TUPlan]


def text_size(path: Path) -> int:
    """Bytes in ``.text`` and ``.text.*`` of an ELF64 little-endian file (0 if it has none).

    A linked program has one ``.text``; an object from llc-22 also has ``.text.unlikely.*``
    for cold functions, which count as llvm-size counts them."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise BuildError(f"{path}: not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab_off = sections[shstrndx][4]
    total = 0
    for name_off, _, _, _, _, size in sections:
        end = data.index(b"\0", strtab_off + name_off)
        name = data[strtab_off + name_off:end]
        if name == b".text" or name.startswith(b".text."):
            total += int(size)
    return total


class Builder:
    """Builds variants of one benchmark in ``work`` (``frontend()`` once, ``build()`` per variant)."""

    def __init__(self, bench: Benchmark, tree: Path, work: Path, *, tools: Toolchain | None = None,
                 jobs: int = 2, plugin: Path | None = None, march: str | None = None):
        self.bench, self.tree, self.work = bench, tree, work
        self.march = march
        self.tools = tools or Toolchain()
        self.jobs, self.plugin = jobs, plugin
        self.units: dict[str, Path] = {}
        self._objects: dict[tuple[str, str], Path] = {}  # (TU, TUPlan.key()) -> object, for build(reuse=True)

    def _step(self, tool: str, args: list[str], what: str, cwd: Path | None = None) -> None:
        try:
            self.tools.run(tool, args, cwd=cwd, timeout=max(300.0, self.bench.timeout))
        except ToolError as exc:
            raise BuildError(f"{self.bench.name}: {what} failed: {exc}") from None

    def _map(self, fn: Callable[[str], object], items: list[str]) -> None:
        with ThreadPoolExecutor(max(1, self.jobs)) as pool:
            for _ in pool.map(fn, items):
                pass

    def frontend(self) -> dict[str, Path]:
        """Compile every TU to unoptimized bitcode (cached in ``work``, keyed by source and flags)."""
        if self.units:
            return self.units
        files = source_files(self.bench, self.tree)
        cc = "clang++" if self.bench.is_cxx else "clang"
        out_dir = self.work / "ir"
        out_dir.mkdir(parents=True, exist_ok=True)

        def one(rel: str) -> None:
            src = self.tree / rel
            key = hashlib.sha256(src.read_bytes() + json.dumps([cc, *frontend_flags(self.march), *self.bench.cflags]).encode())
            out = out_dir / f"{rel.replace('/', '__')}.{key.hexdigest()[:12]}.bc"
            if not out.exists():
                tmp = out.with_suffix(".tmp")
                self._step(cc, [*frontend_flags(self.march), *self.bench.cflags, rel, "-o", str(tmp)], f"compiling {rel}", self.tree)
                tmp.replace(out)
            self.units[rel] = out

        self._map(one, files)
        self.units = {rel: self.units[rel] for rel in files}
        return self.units

    def build(self, label: str, plan_for: Callable[[str, Path], TUPlan], *, reuse: bool = False) -> Binary:
        """Optimize each TU by ``plan_for(tu, bitcode)``, generate code, link into ``work/label``.

        With ``reuse``, a TU whose plan was built before (by a ``reuse`` build of this builder)
        takes that object instead of compiling it again: screening many variants that differ in
        one TU (the per-loop search) then compiles one TU each.  The build seconds are then not a
        whole build's, so the measured variants are built without it."""
        started = time.monotonic()
        units = self.frontend()
        out = self.work / label
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        plans = {rel: plan_for(rel, bc) for rel, bc in units.items()}
        merged = {p.whole for p in plans.values()}
        if len(merged) > 1:
            raise BuildError(f"{self.bench.name}: a whole-program build needs one merged pipeline for every TU")
        whole = merged.pop()

        def one(rel: str) -> None:
            stem = out / rel.replace("/", "__")
            plan = plans[rel]
            cached = self._objects.get((rel, plan.key())) if reuse and not whole else None
            if cached is not None:
                shutil.copyfile(cached, f"{stem}.o")
                return
            args = self._opt_args(plan, stem)
            self._step("opt", [*args, *plan.opt_flags(), str(units[rel]), "-o", f"{stem}.bc"],
                       f"opt on {rel} ({plan.pipeline})")
            if whole:  # the merged module is what generates code
                return
            self._step("llc", [*codegen_flags(self.march), f"{stem}.bc", "-o", f"{stem}.o"], f"llc on {rel}")
            if reuse:  # a copy outside ``out``, which the next build of this label removes
                kept = self.work / "objects" / hashlib.sha256(f"{rel}\0{plan.key()}".encode()).hexdigest()[:24]
                kept.parent.mkdir(exist_ok=True)
                shutil.copyfile(f"{stem}.o", kept)
                self._objects[(rel, plan.key())] = kept

        self._map(one, list(units))
        exe = out / self.bench.name
        linker = "clang++" if self.bench.is_cxx else "clang"
        objects = [f"{out / rel.replace('/', '__')}.o" for rel in units]
        if whole:
            objects = [self._whole(out, [f"{out / rel.replace('/', '__')}.bc" for rel in units], whole)]
        runtime = ["-fprofile-instr-generate"] if any(p.pgo == PGO_GEN for p in plans.values()) else []
        self._step(linker, [*objects, "-o", str(exe), *runtime, *self.bench.ldflags], "linking")
        return Binary(label, exe, text_size(exe), time.monotonic() - started, plans)

    def _opt_args(self, plan: TUPlan, stem: Path) -> list[str]:
        """opt-22's arguments for ``plan`` before its :meth:`TUPlan.opt_flags` (the pass plugin's
        with loop counters, loop decisions or function pipelines; advice files beside ``stem``)."""
        args = ["-passes=" + plan.pipeline]
        if plan.profile:
            from irpipe.llvm.native import plugin_path

            args = [f"-load-pass-plugin={self.plugin or plugin_path()}", *args, "-irpipe-profile-loops"]
        elif plan.loops:  # decided at the vectorizer start of this very opt-22 pipeline
            from irpipe.llvm.loops import loop_advice_doc
            from irpipe.llvm.native import plugin_path

            advice_file = stem.with_suffix(".loops.json")
            jsonfile.write(advice_file, loop_advice_doc(plan.loops))
            args = [f"-load-pass-plugin={self.plugin or plugin_path()}", *args, f"-irpipe-advice={advice_file}"]
        elif plan.advice is not None:
            if self.plugin is None or not self.plugin.is_file():
                raise BuildError(f"{self.bench.name}: advice with function pipelines needs the pass "
                                 "plugin (make native builds passes/build/lib/libIRPipe.so)")
            advice_file = stem.with_suffix(".advice.json")
            advice.write(advice_file, [{**plan.advice, "source": "*"}])
            args = [f"-load-pass-plugin={self.plugin}", "-passes=irpipe-apply", f"-irpipe-advice={advice_file}"]
        return args

    def _whole(self, out: Path, bitcode: list[str], pipeline: str) -> str:
        """Link ``bitcode`` into one module, keep only ``main`` external, run ``pipeline``, generate
        code: the object file."""
        from irpipe.optimize.wholeprogram import internalize_flags

        self._step("llvm-link", [*bitcode, "-o", str(out / "whole.bc")], "linking the bitcode of every TU")
        self._step("opt", [*internalize_flags(pipeline), str(out / "whole.bc"), "-o", str(out / "whole.opt.bc")],
                   f"opt on the whole program ({pipeline})")
        self._step("llc", [*codegen_flags(self.march), str(out / "whole.opt.bc"), "-o", str(out / "whole.o")],
                   "llc on the whole program")
        return str(out / "whole.o")
