"""Train an inlining policy for size, in stock clang-22, through MLGO's interactive protocol.

The reward of a policy is the geomean of (default .text bytes / policy .text bytes) over
training modules, each compiled with ``clang-22 -Oz -march=x86-64-v3 -c`` while the
policy answers every inlining decision (:func:`compile_text_bytes`).  Training is
evolution strategies (MLGO trains its inliner with ES as well): antithetic Gaussian
perturbations of the linear policy's parameters, rank-normalized rewards, starting
from the policy that reproduces LLVM's decisions.  Modules come from the dataset's
training split (by package, like every model here); the report compares the
trained policy with LLVM's default inliner on held-out (val + test) modules.

    USAGE: irpipe train-inliner --dataset datasets/default --out models/inliner
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from irpipe.errors import IrpipeError, ToolError
from irpipe.extract.bitcode import elf_sections
from irpipe.llvm.tools import Toolchain
from irpipe.nn.inliner import DEFAULT_FEATURE, InlinerPolicy, phi
from irpipe.llvm.mlgo import Channel, Policy

FLAGS = ("-Oz", "-march=x86-64-v3", "-mllvm", "-enable-ml-inliner=release",
         "-mllvm", "-inliner-interactive-include-default")


def compile_text_bytes(bitcode: bytes, policy: Policy, *, timeout_s: float = 120.0) -> int:
    """.text bytes of ``bitcode`` compiled at -Oz with ``policy`` deciding each inlining."""
    with tempfile.TemporaryDirectory(prefix="irpipe-inl-") as tmp:
        src, obj = Path(tmp) / "m.bc", Path(tmp) / "m.o"
        src.write_bytes(bitcode)
        with Channel(Path(tmp) / "ch", policy) as ch:
            errors: list[BaseException] = []

            def host() -> None:
                try:
                    ch.serve_one()
                except (IrpipeError, OSError) as exc:
                    errors.append(exc)
            t = threading.Thread(target=host, daemon=True)
            t.start()
            proc = Toolchain().start("clang", [*FLAGS, "-mllvm", f"-inliner-interactive-channel-base={ch.base}",
                                               "-c", str(src), "-o", str(obj)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                _, err = proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise ToolError(f"clang-22 with the interactive inliner timed out after {timeout_s:g} s")
            finally:
                ch.stop()
                t.join(timeout=10)
            if proc.returncode != 0 or errors:
                raise ToolError(f"clang-22 with the interactive inliner failed ({proc.returncode}): "
                                f"{(err or b'').decode(errors='replace')[-500:]} {errors}")
        sections = elf_sections(obj.read_bytes(), (".text",)) or {}
        return sum(len(v) for v in sections.values())


class Default:
    """LLVM's own inlining decision (``inlining_default``); with ``record``, keeps every call site."""

    kind = "inline"

    def __init__(self, record: bool = False):
        self.seen: list[dict[str, np.ndarray]] = []
        self.record = record

    def __call__(self, f: dict[str, np.ndarray]) -> int:
        if self.record:
            self.seen.append(f)
        return int(f[DEFAULT_FEATURE][0])


@dataclass
class ESConfig:
    """Evolution-strategies knobs (defaults sized for ~15 min on 2 cores)."""

    iterations: int = 8
    pairs: int = 4            # antithetic pairs per iteration (2 * pairs policies evaluated)
    sigma: float = 0.1        # perturbation std of each parameter (features are standardized;
                              # the default decision's logit margin is +-2)
    lr: float = 0.2           # step on the rank-normalized gradient estimate
    seed: int = 0


def geomean_gain(base: list[int], sizes: list[int]) -> float:
    """Geomean of base / size (> 1: the policy is smaller)."""
    return math.exp(float(np.mean([math.log(b / s) for b, s in zip(base, sizes) if b > 0 and s > 0])))


def train(modules: list[bytes], *, config: ESConfig = ESConfig(),
          progress: Callable[[str], None] = print) -> tuple[InlinerPolicy, dict]:
    """ES from LLVM's own decisions; returns the best policy seen and its training history."""
    default = Default(record=True)
    base = [compile_text_bytes(m, default) for m in modules]
    if not default.seen:
        raise IrpipeError("the training modules made no inlining decisions")
    names = list(default.seen[0])
    feats = np.array([[float(r[n][0]) for n in names] for r in default.seen])
    scale = np.maximum(phi(feats).std(axis=0), 1e-3)
    policy = InlinerPolicy.default(names, scale, phi(feats).mean(axis=0))

    def reward(p: InlinerPolicy) -> float:
        return geomean_gain(base, [compile_text_bytes(m, p) for m in modules])
    rng = np.random.default_rng(config.seed)
    theta = policy.params
    best = (reward(policy), theta.copy())
    history = [{"iteration": 0, "reward": best[0], "decisions": len(default.seen)}]
    progress(f"inliner ES: {len(modules)} modules, {len(default.seen)} call sites, "
             f"start reward {best[0]:.4f}")
    for it in range(1, config.iterations + 1):
        t0 = time.monotonic()
        eps = rng.standard_normal((config.pairs, theta.size))
        rewards = []
        for e in eps:
            for sign in (1, -1):
                rewards.append(reward(policy.with_params(theta + sign * config.sigma * e)))
        r = np.array(rewards).reshape(config.pairs, 2)
        ranks = np.argsort(np.argsort(r.reshape(-1))).reshape(r.shape) / (r.size - 1) - 0.5
        grad = ((ranks[:, 0] - ranks[:, 1])[:, None] * eps).sum(axis=0) / (config.pairs * config.sigma)
        theta = theta + config.lr * config.sigma * grad
        now = reward(policy.with_params(theta))
        if now > best[0]:
            best = (now, theta.copy())
        history.append({"iteration": it, "reward": now, "best": best[0], "population_max": float(r.max()),
                        "seconds": round(time.monotonic() - t0, 1)})
        progress(f"iteration {it}/{config.iterations}: reward {now:.4f} (best {best[0]:.4f}, "
                 f"population max {r.max():.4f}) {time.monotonic() - t0:.0f} s")
    return policy.with_params(best[1]), {"history": history, "train_modules": len(modules),
                                         "train_call_sites": len(default.seen)}


def evaluate(policy: InlinerPolicy, modules: list[bytes]) -> dict[str, float]:
    """The policy against LLVM's default inliner (same flags) on ``modules``."""
    base = [compile_text_bytes(m, Default()) for m in modules]
    sizes = [compile_text_bytes(m, policy) for m in modules]
    return {"modules": len(modules), "geomean_gain": round(geomean_gain(base, sizes), 5),
            "total_default_bytes": int(sum(base)), "total_policy_bytes": int(sum(sizes)),
            "smaller": sum(s < b for b, s in zip(base, sizes)),
            "larger": sum(s > b for b, s in zip(base, sizes))}


def load_modules(dataset: str | Path, split: str, count: int, *, seed: int = 0,
                 min_instructions: int = 30, max_instructions: int = 4000) -> list[bytes]:
    """``count`` modules of ``split`` ("train", or "val+test"), prepared like every evaluation
    (optnone/noinline of -O0 builds stripped), of a size that compiles in well under a second."""
    import pyarrow as pa

    from irpipe.data.splits import select_hashes
    from irpipe.runtime.shards import read_modules
    from irpipe.label.measure import EvaluationError, Evaluator

    table = read_modules(dataset, columns=["structural_hash", "recipe_id", "package_name", "content",
                                           "instruction_count"])
    table = table.filter(pa.array([min_instructions <= (n or 0) <= max_instructions
                                   for n in table.column("instruction_count").to_pylist()]))
    hashes: set[str] = set()
    for part in split.split("+"):
        hashes |= select_hashes(table, part, seed=seed)
    order = sorted(hashes, key=lambda h: hashlib.sha256(f"{seed}:{h}".encode()).digest())
    content = dict(zip(table.column("structural_hash").to_pylist(), table.column("content").to_pylist()))
    out = []
    for h in order:
        if len(out) >= count:
            break
        try:
            _, raw = Evaluator(content[h], name=h[:12]).evaluate("verify", bitcode=True)
        except EvaluationError:
            continue
        out.append(raw["bitcode"])
    return out


def run(dataset: str | Path, out: str | Path, *, train_modules: int = 30, eval_modules: int = 60,
        config: ESConfig = ESConfig(), progress: Callable[[str], None] = print) -> dict:
    """Train on the training split, evaluate on val+test, save the policy with its report."""
    train_set = load_modules(dataset, "train", train_modules, seed=config.seed)
    held_out = load_modules(dataset, "val+test", eval_modules, seed=config.seed)
    t0 = time.monotonic()
    policy, info = train(train_set, config=config, progress=progress)
    report = {"objective": ".text bytes at -Oz (x86-64-v3) vs LLVM 22's default inliner",
              "flags": list(FLAGS), "es": config.__dict__, **info,
              "train_seconds": round(time.monotonic() - t0, 1),
              "train": evaluate(policy, train_set), "held_out": evaluate(policy, held_out)}
    policy.save(out, report)
    progress(f"held-out (val+test, {len(held_out)} modules): geomean {report['held_out']['geomean_gain']:.4f}x "
             f"vs the default inliner; saved {out}")
    return report
