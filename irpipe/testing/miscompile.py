"""A miscompile net: build a C program every way irpipe builds it and compare each run's output,
byte for byte, with the program's ``clang-22 -O0`` build.

For each objective, ``optimize()`` (the library behind ``irpipe optimize``) gets the
program's unoptimized IR in one of two forms, alternating by program and objective so
each program and each objective sees both:

* ``keep``: ``clang-22 -O0 -Xclang -disable-O0-optnone`` (every function ``noinline``),
  optimized as opt-22 would (:data:`~irpipe.label.measure.AS_OPT`);
* ``strip``: plain ``clang-22 -O0`` with ``--strip-optnone`` (optnone and noinline
  dropped, so the inliner acts).

Its output is code-generated at -O2 without further IR passes and run.  The chosen
pipeline then goes into an advice file (as ``--emit-advice`` writes it) for a
``clang-22 -fpass-plugin=libIRPipe.so`` build of the C source (-Oz for size, -O2
for instcount); a probe entry proves that the plugin applied the advice.

    USAGE: net = Net(Predictor.load("models/default"), workdir)
           net.frontend([src]); diffs = net.check(src, index=0)   # [] when every build agrees
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from irpipe.errors import EvalError
from irpipe.llvm.target import AS_OPT, Target
from irpipe.llvm import ir
from irpipe.llvm.native import plugin_path
from irpipe.llvm.tools import Toolchain
from irpipe.optimize import advice
from irpipe.optimize.apply import OptimizeResult, optimize
from irpipe.runtime import process
from irpipe.runtime.process import Finished
from irpipe.train.predict import Predictor

#: the two forms of unoptimized IR optimize() is given, and how each is targeted
MODES: dict[str, tuple[list[str], Target]] = {
    "keep": (["-Xclang", "-disable-O0-optnone"], AS_OPT),
    "strip": ([], Target(strip_optnone=True)),
}
#: the -O level of the plugin build for each objective's advice
PLUGIN_LEVEL = {"size": "-Oz", "instcount": "-O2"}
#: a function no program defines: the plugin warns about it only when the advice entry applied
PROBE = "__irpipe_net_probe"


@dataclass(frozen=True)
class Run:
    """What one build printed: exit status and stdout (``None`` status: it timed out)."""

    status: int | None
    stdout: bytes


@dataclass(frozen=True)
class Difference:
    """One build whose run differs from the -O0 build's."""

    program: str
    build: str
    pipeline: str
    detail: str

    def __str__(self) -> str:
        return f"{self.program}: {self.build}, pipeline {self.pipeline!r}\n{self.detail}"


def _detail(want: Run, got: Run) -> str:
    if got.status is None:
        return "timed out"
    head = f"exit {want.status} -> {got.status}\n" if want.status != got.status else ""
    old, new = (r.stdout.decode(errors="replace").splitlines() for r in (want, got))
    lines = difflib.unified_diff(old, new, "-O0", "built", lineterm="", n=0)
    return head + "\n".join(list(lines)[:16])


class Net:
    """Builds programs in ``workdir`` with one loaded predictor; counts what it compared."""

    def __init__(self, predictor: Predictor, workdir: Path, *, verify: int = 10,
                 objectives: Sequence[str] = ("size", "instcount"), cflags: Sequence[str] = (),
                 run_timeout_s: float = 10.0, plugin: bool = True, tools: Toolchain | None = None):
        self.predictor, self.workdir, self.verify = predictor, Path(workdir), verify
        self.objectives, self.cflags, self.run_timeout_s = tuple(objectives), list(cflags), run_timeout_s
        self.plugin = plugin_path() if plugin else None
        self.tools = tools or Toolchain()
        self.compared = 0                     #: builds compared with their -O0 build
        self.pipelines: Counter[str] = Counter()  #: pipelines optimize chose

    def _clang(self, args: list[str], *, cwd: Path | None = None) -> Finished:
        return self.tools.run("clang", [*self.cflags, *args], cwd=cwd, timeout=300)

    def frontend(self, sources: Sequence[Path]) -> None:
        """Unoptimized IR of every source in both forms, one clang call per form:
        ``workdir/keep/NAME.ll`` and ``workdir/strip/NAME.ll``."""
        for mode, (flags, _) in MODES.items():
            (self.workdir / mode).mkdir(parents=True, exist_ok=True)
            self._clang(["-O0", *flags, "-S", "-emit-llvm", *[str(Path(s).resolve()) for s in sources]],
                        cwd=self.workdir / mode)

    def run(self, exe: Path, timeout_s: float | None = None) -> Run:
        """Run ``exe``; a run past the time limit has status ``None``."""
        done = process.run([str(exe)], what=exe.name, timeout=timeout_s or self.run_timeout_s,
                           check=False, raise_timeout=False)
        return Run(None if done.timed_out else done.returncode, done.stdout)

    def reference(self, src: Path) -> Run:
        """The -O0 build's run (status ``None``: it timed out, the program cannot be checked)."""
        exe = self.workdir / f"{src.stem}.O0"
        self._clang(["-O0", str(src), "-o", str(exe), "-lm"])
        return self.run(exe)

    def link(self, bitcode: bytes, exe: Path) -> Path:
        """Code-generate ``bitcode`` at -O2 with no further IR passes and link it to ``exe``."""
        bc = exe.with_suffix(".bc")
        bc.write_bytes(bitcode)
        self._clang(["-O2", "-Xclang", "-disable-llvm-passes", str(bc), "-o", str(exe), "-lm"])
        return exe

    def check(self, src: Path, index: int, reference: Run | None = None) -> list[Difference]:
        """Every irpipe build of ``src`` (after :meth:`frontend`) against its -O0 build."""
        src = Path(src)
        ref = reference or self.reference(src)
        if ref.status is None:
            raise EvalError(f"{src.name}: the -O0 build runs longer than {self.run_timeout_s:g} s; "
                            "it cannot be checked")
        diffs: list[Difference] = []
        for j, objective in enumerate(self.objectives):
            mode = list(MODES)[(index + j) % len(MODES)]
            data = (self.workdir / mode / f"{src.stem}.ll").read_bytes()
            result = optimize(data, self.predictor, objective=objective, verify=self.verify,
                              name=src.name, target=MODES[mode][1])
            self.pipelines[result.pipeline] += 1
            exe = self.link(result.bitcode, self.workdir / f"{src.stem}.{objective}")
            diffs += self._compare(src.stem, f"optimize --objective {objective} ({mode} input)",
                                   result.pipeline, ref, exe)
            if self.plugin is not None:
                diffs += self._plugin(src, data, result, ref)
        return diffs

    def _plugin(self, src: Path, data: bytes, result: OptimizeResult, ref: Run) -> list[Difference]:
        """Build ``src`` with the plugin and the advice ``--emit-advice`` writes for ``result``
        (its source: the C file); the probe must warn."""
        objective, pipeline = result.objective, result.pipeline
        entry = advice.optimized_advice(result, ir.structural_hash(data), src.name)
        entry["functions"][PROBE] = "function(instsimplify)"
        adv = advice.write(self.workdir / f"{src.stem}.{objective}.advice.json", [entry])
        exe = self.workdir / f"{src.stem}.plugin-{objective}"
        level = PLUGIN_LEVEL.get(objective, "-O2")
        proc = self._clang([level, f"-fpass-plugin={self.plugin}", "-mllvm", f"-irpipe-advice={adv}",
                            str(src), "-o", str(exe), "-lm"])
        build = f"clang-22 {level} -fpass-plugin, {objective} advice"
        warnings = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if "irpipe: warning" in ln]
        if [PROBE in ln for ln in warnings] != [True]:
            return [Difference(src.stem, build, pipeline, "the advice was not applied as written:\n"
                               + "\n".join(warnings or ["(no probe warning)"]))]
        return self._compare(src.stem, build, pipeline, ref, exe)

    def _compare(self, program: str, build: str, pipeline: str, ref: Run, exe: Path) -> list[Difference]:
        got = self.run(exe, 3 * self.run_timeout_s)
        self.compared += 1
        if got == ref:
            return []
        return [Difference(program, build, pipeline, _detail(ref, got))]
