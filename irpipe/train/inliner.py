"""Train an inlining policy for size, in stock clang-22, through MLGO's interactive protocol.

The reward of a policy is the geomean of (default .text bytes / policy .text bytes) over
training modules, each compiled with ``clang-22 -Oz -march=x86-64-v3 -c`` while the
policy answers every inlining decision (:func:`compile_text_bytes`).  Training is
evolution strategies (MLGO trains its inliner with ES as well): antithetic Gaussian
perturbations of the linear policy's parameters, rank-normalized rewards, starting
from the policy that reproduces LLVM's decisions.  Modules come from the dataset's
training split (by package, like every model here); the report compares the
trained policy with LLVM's default inliner on held-out (val + test) modules.  ES runs on
the one training loop (:mod:`irpipe.train.loop`): an epoch is one iteration, row 0 the
starting policy, the best policy so far is the checkpoint.  Modules that cannot be
prepared or compiled are counted (``failed`` in each report), never silently dropped.

    USAGE: irpipe train --problem inliner --config models/inliner/config.toml --out out/models/inliner
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from irpipe.errors import IrpipeError, ToolError, ToolTimeout
from irpipe.extract.bitcode import elf_sections
from irpipe.llvm.tools import Toolchain
from irpipe.nn.inliner import DEFAULT_FEATURE, InlinerPolicy, phi
from irpipe.llvm.mlgo import Channel, Policy
from irpipe.train.config import load_flat

log = logging.getLogger(__name__)
PROBLEM = "inliner"
OBJECTIVE = ".text bytes at -Oz (x86-64-v3) vs LLVM 22's default inliner"

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
            try:
                proc = Toolchain().run("clang", [*FLAGS, "-mllvm", f"-inliner-interactive-channel-base={ch.base}",
                                                 "-c", str(src), "-o", str(obj)], timeout=timeout_s, check=False)
            except ToolTimeout:
                raise ToolError(f"clang-22 with the interactive inliner timed out after {timeout_s:g} s") from None
            finally:
                ch.stop()
                t.join(timeout=10)
            if proc.returncode != 0 or errors:
                raise ToolError(f"clang-22 with the interactive inliner failed ({proc.returncode}): "
                                f"{proc.stderr.decode(errors='replace')[-500:]} {errors}")
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


@dataclass(frozen=True)
class InlinerConfig:
    """Everything that makes an inliner policy (flat TOML keys, as models/inliner/config.toml)."""

    dataset: str = "datasets/default/sample"   # MODULES shards; modules of its train split train
    train_modules: int = 30
    eval_modules: int = 60        # held-out (val + test) modules for the report
    iterations: int = 8
    pairs: int = 4
    sigma: float = 0.1
    lr: float = 0.2
    seed: int = 0

    @property
    def es(self) -> ESConfig:
        """The evolution-strategies knobs."""
        return ESConfig(self.iterations, self.pairs, self.sigma, self.lr, self.seed)


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> InlinerConfig:
    """An :class:`InlinerConfig` from TOML (flat keys) with ``key=value`` overrides."""
    return load_flat(InlinerConfig, path, overrides)


def geomean_gain(base: list[int], sizes: list[int]) -> float:
    """Geomean of base / size (> 1: the policy is smaller) over the modules with code."""
    logs = [math.log(b / s) for b, s in zip(base, sizes) if b > 0 and s > 0]
    return math.exp(float(np.mean(logs))) if logs else math.nan


def start_policy(modules: Sequence[bytes]) -> tuple[InlinerPolicy, list[int], int]:
    """The policy that reproduces LLVM's decisions, standardized on ``modules``' call sites;
    the default .text bytes of each module; the number of call sites."""
    default = Default(record=True)
    base = [compile_text_bytes(m, default) for m in modules]
    if not default.seen:
        raise IrpipeError("the training modules made no inlining decisions")
    names = list(default.seen[0])
    feats = np.array([[float(r[n][0]) for n in names] for r in default.seen])
    scale = np.maximum(phi(feats).std(axis=0), 1e-3)
    return InlinerPolicy.default(names, scale, phi(feats).mean(axis=0)), base, len(default.seen)


class ESTrainable:
    """Evolution strategies as a :class:`irpipe.train.loop.Trainable`: an epoch is one
    iteration (antithetic perturbations, rank-normalized rewards, one step); validation is
    the reward of the new parameters; a checkpoint is the policy with them."""

    resumable = False

    def __init__(self, policy: InlinerPolicy, modules: Sequence[bytes], base: list[int], config: ESConfig,
                 info: dict[str, Any], say: Callable[[str], None] = print) -> None:
        self.policy, self.modules, self.base, self.es = policy, modules, base, config
        self.theta = policy.params
        self.rng = np.random.default_rng(config.seed)
        self.info, self.say, self.best = info, say, -math.inf

    def reward(self, params: np.ndarray) -> float:
        """Geomean default / policy .text bytes over the training modules."""
        return geomean_gain(self.base, [compile_text_bytes(m, self.policy.with_params(params)) for m in self.modules])

    def epoch(self, epoch: int) -> dict[str, Any]:
        es = self.es
        eps = self.rng.standard_normal((es.pairs, self.theta.size))
        r = np.array([self.reward(self.theta + sign * es.sigma * e) for e in eps for sign in (1, -1)])
        r = r.reshape(es.pairs, 2)
        ranks = np.argsort(np.argsort(r.reshape(-1))).reshape(r.shape) / (r.size - 1) - 0.5
        grad = ((ranks[:, 0] - ranks[:, 1])[:, None] * eps).sum(axis=0) / (es.pairs * es.sigma)
        self.theta = self.theta + es.lr * es.sigma * grad
        return {"iteration": epoch + 1, "population_max": float(r.max())}

    def validate(self) -> dict[str, Any]:
        return {"reward": self.reward(self.theta)}

    def score(self, row: dict[str, Any]) -> float:
        return -row["reward"]

    def save(self, directory: Path, meta: dict[str, Any]) -> None:
        self.policy.with_params(self.theta).save(directory, {**self.info, **meta})

    def save_state(self, directory: Path, info: dict[str, Any]) -> None:
        raise IrpipeError("the inliner's evolution strategies cannot resume")

    def load_state(self, directory: Path) -> dict[str, Any]:
        raise IrpipeError("the inliner's evolution strategies cannot resume")

    def log(self, row: dict[str, Any], epochs: int) -> None:
        self.best = max(self.best, row["reward"])
        if row["epoch"] == 0:
            self.say(f"start reward {row['reward']:.4f}")
        else:
            self.say(f"iteration {row['epoch']}/{epochs}: reward {row['reward']:.4f} (best {self.best:.4f}, "
                     f"population max {row['population_max']:.4f}) {row['seconds']:.0f} s")


def train(modules: list[bytes], out: str | Path, *, config: ESConfig = ESConfig(),
          info: dict[str, Any] | None = None, progress: Callable[[str], None] = print
          ) -> tuple[InlinerPolicy, dict]:
    """ES from LLVM's own decisions on the one loop; the best policy seen (saved in ``out``
    with ``info``) and its training history."""
    from irpipe.train.loop import run_epochs  # torch: only for a training

    policy, base, decisions = start_policy(modules)
    progress(f"inliner ES: {len(modules)} modules, {decisions} call sites")
    trainable = ESTrainable(policy, modules, base, config, info or {}, progress)
    state = run_epochs(trainable, config.iterations, Path(out), validate_first=True)
    return InlinerPolicy.load(out), {"history": state.rows, "train_modules": len(modules),
                                     "train_call_sites": decisions}


def evaluate(policy: InlinerPolicy, modules: list[bytes], *, failed: int = 0) -> dict[str, Any]:
    """The policy against LLVM's default inliner (same flags) on ``modules``.  A module that
    does not compile is left out and counted in ``failed`` (on top of ``failed``: the modules
    the caller could not prepare); ``no_text``: modules without code, out of the geomean."""
    base, sizes = [], []
    for m in modules:
        try:
            b, s = compile_text_bytes(m, Default()), compile_text_bytes(m, policy)
        except IrpipeError as exc:
            log.warning("inliner evaluation: a module failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
            failed += 1
            continue
        base.append(b)
        sizes.append(s)
    return {"modules": len(base), "failed": failed, "geomean_gain": round(geomean_gain(base, sizes), 5),
            "total_default_bytes": int(sum(base)), "total_policy_bytes": int(sum(sizes)),
            "smaller": sum(s < b for b, s in zip(base, sizes)),
            "larger": sum(s > b for b, s in zip(base, sizes)),
            "no_text": sum(b <= 0 or s <= 0 for b, s in zip(base, sizes))}


@dataclass
class ModuleSet:
    """Prepared modules of a split, and how many of those tried could not be prepared."""

    modules: list[bytes]
    failed: int = 0


def load_modules(dataset: str | Path, split: str, count: int, *, seed: int = 0,
                 min_instructions: int = 30, max_instructions: int = 4000) -> ModuleSet:
    """``count`` modules of ``split`` ("train", or "val+test"), prepared like every evaluation
    (optnone/noinline of -O0 builds stripped), of a size that compiles in well under a second;
    the modules that fail to prepare are counted."""
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
    out = ModuleSet([])
    for h in order:
        if len(out.modules) >= count:
            break
        try:
            _, raw = Evaluator(content[h], name=h[:12]).evaluate("verify", bitcode=True)
        except EvaluationError as exc:
            log.warning("inliner: module %s cannot be prepared: %s", h[:12], exc)
            out.failed += 1
            continue
        out.modules.append(raw["bitcode"])
    return out


def run(cfg: InlinerConfig, out: str | Path, *, progress: Callable[[str], None] = print) -> dict:
    """Train on the training split, evaluate on val+test, save the policy with its report."""
    train_set = load_modules(cfg.dataset, "train", cfg.train_modules, seed=cfg.seed)
    held_out = load_modules(cfg.dataset, "val+test", cfg.eval_modules, seed=cfg.seed)
    t0 = time.monotonic()
    info = {"config": dataclasses.asdict(cfg), "objective": OBJECTIVE, "flags": list(FLAGS),
            "es": dataclasses.asdict(cfg.es)}
    policy, history = train(train_set.modules, out, config=cfg.es, info=info, progress=progress)
    report = {**info, **history, "train_seconds": round(time.monotonic() - t0, 1),
              "train": evaluate(policy, train_set.modules, failed=train_set.failed),
              "held_out": evaluate(policy, held_out.modules, failed=held_out.failed)}
    policy.save(out, report)
    h = report["held_out"]
    progress(f"held-out (val+test, {h['modules']} modules, {h['failed']} failed): geomean "
             f"{h['geomean_gain']:.4f}x vs the default inliner; saved {out}")
    return report
