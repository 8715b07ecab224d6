"""The learned inliner against the no-model rule, random decisions and a search, at equal compiles.

    python benchmarks/inliner_bench.py [--model models/inliner] [--modules 80] [--draws 3] [--search 8]

Two held-out sets, both compiled with ``clang-22 -Oz -march=x86-64-v3 -c`` while a policy answers
every inlining decision (MLGO's interactive protocol, :func:`irpipe.train.inliner.compile_text_bytes`):

  * the val + test packages of the checkpoint's dataset (the modules its report scores, same seed);
  * irpipe's own 7 C programs (``benchmarks/programs``), one ``-O0`` module each, never trained on.

Rows: geomean of LLVM's default .text / the row's .text (> 1: smaller than the default inliner).

  * no model: LLVM 22's own decisions (1.000 by definition; 1 compile);
  * policy: the checkpoint (1 compile, unverified: a larger module counts);
  * random decisions: each call site inlined with the default's own inline rate on that set, the
    expectation over ``--draws`` seeded draws (1 compile);
  * policy, verified: the smaller of default and policy (2 compiles);
  * random search, ``--search`` + 2 compiles: the smallest of default and ``--search`` + 1 random
    decision draws;
  * search oracle, ``--search`` + 2 compiles: the smallest of default, the policy and ``--search``
    perturbations of it (the training sigma).  The true oracle (every inline subset) is out of reach:
    this is a lower bound on it.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


class RandomDecisions:
    """Inline each call site with probability ``rate`` (seeded)."""

    kind = "inline"

    def __init__(self, rate: float, seed: int):
        self.rate, self.rng = rate, np.random.default_rng(seed)

    def __call__(self, features: dict[str, np.ndarray]) -> int:
        return int(self.rng.random() < self.rate)


def program_modules(directory: Path) -> list[bytes]:
    """One -O0 bitcode module per C program of benchmarks/programs (its optnone and noinline
    stripped by the evaluator, as for every evaluation)."""
    from irpipe.label.measure import Evaluator
    from irpipe.llvm.tools import Toolchain

    out = []
    for src in sorted((ROOT / "benchmarks" / "programs").glob("*.c")):
        bc = directory / f"{src.stem}.bc"
        Toolchain().run("clang", ["-O0", "-emit-llvm", "-c", str(src),
                                  "-o", str(bc)])
        _, raw = Evaluator(bc.read_bytes(), name=src.name).evaluate("verify", bitcode=True)
        out.append(raw["bitcode"])
    return out


def gains(modules: list[bytes], policy, *, draws: int, search: int, sigma: float) -> dict[str, float]:
    """Each row's geomean gain over LLVM's default inliner on ``modules``."""
    from irpipe.errors import IrpipeError
    from irpipe.train.inliner import Default, compile_text_bytes

    rate_probe = Default(record=True)
    base = []
    for m in modules:
        base.append(compile_text_bytes(m, rate_probe))
    decisions = [int(f["inlining_default"][0]) for f in rate_probe.seen]
    rate = sum(decisions) / max(1, len(decisions))
    rows: dict[str, list[float]] = {k: [] for k in (
        "policy (1 compile)", "random decisions at LLVM's inline rate (1 compile)", "policy, verified (2 compiles)",
        f"random search ({search + 2} compiles)", f"search oracle ({search + 2} compiles)")}
    rng = np.random.default_rng(0)
    for i, (m, b) in enumerate(zip(modules, base)):
        if b <= 0:
            continue

        def size(p) -> float:
            try:
                return compile_text_bytes(m, p)
            except IrpipeError:
                return b  # a failed compile falls back to the default's module
        own = size(policy)
        rand = [size(RandomDecisions(rate, 1000 * i + d)) for d in range(max(draws, search + 1))]
        perturbed = [size(policy.with_params(policy.params + sigma * rng.standard_normal(policy.params.shape)))
                     for _ in range(search)]
        logs = [math.log(b / own), float(np.mean([math.log(b / r) for r in rand[:draws]])),
                math.log(b / min(b, own)), math.log(b / min([b, *rand[:search + 1]])),
                math.log(b / min([b, own, *perturbed]))]
        for key, value in zip(rows, logs):
            rows[key].append(value)
        print(f"  {i + 1}/{len(modules)}", end="\r", file=sys.stderr, flush=True)
    return {"n": len(rows["policy (1 compile)"]), **{k: math.exp(float(np.mean(v))) for k, v in rows.items()}}


def main() -> int:
    from irpipe.nn.inliner import InlinerPolicy
    from irpipe.train.inliner import load_modules

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/inliner")
    ap.add_argument("--modules", type=int, default=80, help="held-out (val + test) modules")
    ap.add_argument("--draws", type=int, default=3, help="random-decision draws averaged per module")
    ap.add_argument("--search", type=int, default=8, help="extra compiles of the two searches")
    args = ap.parse_args()
    policy = InlinerPolicy.load(args.model)
    cfg = policy.info.get("config", {})
    sigma = float(policy.info.get("es", {}).get("sigma", cfg.get("sigma", 0.1)))
    held = load_modules(cfg.get("dataset", "datasets/default/sample"), "val+test", args.modules,
                        seed=int(cfg.get("seed", 0)))
    with tempfile.TemporaryDirectory(prefix="irpipe-inl-bench-") as tmp:
        programs = program_modules(Path(tmp))
    sets = {f"val + test modules ({len(held.modules)}, {held.failed} not prepared)": held.modules,
            f"irpipe's {len(programs)} C programs": programs}
    results = {name: gains(mods, policy, draws=args.draws, search=args.search, sigma=sigma)
               for name, mods in sets.items()}
    names = list(results)
    print(f"| .text vs LLVM 22's default inliner (geomean default / row) | {' | '.join(names)} |")
    print("|---|" + "---:|" * len(names))
    print("| no model: LLVM's own decisions (1 compile) | " + " | ".join("1.000" for _ in names) + " |")
    for key in list(results[names[0]])[1:]:
        print(f"| {key} | " + " | ".join(f"{results[n][key]:.4f}" for n in names) + " |")
    print(f"\nmodules with code: {', '.join(str(results[n]['n']) for n in names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
