"""A deterministic performance proxy: cachegrind's counts folded into one cycle estimate.

This VM has no hardware counters and CPU time of one run spreads 2-3% (A/A), so a runtime
label needs a second signal that does not move between runs.  The program runs under
``valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes`` with a fixed cache geometry
(:data:`CACHE_FLAGS`: the host's is not used, since valgrind's detection depends on the host
and in this VM reports a 256 MiB direct-mapped last level), and its totals become

    cycles = Ir + a * L1 misses + b * LL misses + c * mispredicted branches

with ``L1 misses = I1mr + D1mr + D1mw``, ``LL misses = ILmr + DLmr + DLmw`` and
``mispredicted = Bcm + Bim``.  The default constants (:data:`DEFAULT_WEIGHTS`) are explained
in :class:`Weights`.  The counts are exact to the instruction for a given binary and input,
so two runs agree; whether the estimate ranks builds as their CPU time does is measured by
``benchmarks/proxy_bench.py`` (datasets/runtime/README.md has the figures).

    USAGE: counts, stdout = cachegrind([exe, "1000", "3"], timeout=600)
           estimate = cycles(counts)
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

from irpipe.errors import NotRunnable, ToolTimeout
from irpipe.runtime import callgrind, process

#: the simulated caches: a 32 KiB 8-way L1 (I and D, 64-byte lines) and, as the last level, a
#: 1 MiB 16-way cache (a core's private L2 on this machine's AMD EPYC; the shared L3 is left
#: out: what misses L2 pays tens of cycles more whether it then hits L3 or memory)
CACHE_FLAGS = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64")


@dataclass(frozen=True)
class Counts:
    """Cachegrind's totals of one run (names as cachegrind writes them, lower case)."""

    ir: int = 0
    i1mr: int = 0
    ilmr: int = 0
    dr: int = 0
    d1mr: int = 0
    dlmr: int = 0
    dw: int = 0
    d1mw: int = 0
    dlmw: int = 0
    bc: int = 0
    bcm: int = 0
    bi: int = 0
    bim: int = 0

    @classmethod
    def from_totals(cls, totals: dict[str, int]) -> "Counts":
        """From :func:`irpipe.runtime.callgrind.file_totals` (events it lacks count 0)."""
        return cls(**{f.name: int(totals.get(_EVENT[f.name], 0)) for f in fields(cls)})

    @property
    def l1_misses(self) -> int:
        return self.i1mr + self.d1mr + self.d1mw

    @property
    def ll_misses(self) -> int:
        return self.ilmr + self.dlmr + self.dlmw

    @property
    def mispredicts(self) -> int:
        return self.bcm + self.bim


_EVENT = {"ir": "Ir", "i1mr": "I1mr", "ilmr": "ILmr", "dr": "Dr", "d1mr": "D1mr", "dlmr": "DLmr",
          "dw": "Dw", "d1mw": "D1mw", "dlmw": "DLmw", "bc": "Bc", "bcm": "Bcm", "bi": "Bi", "bim": "Bim"}


@dataclass(frozen=True)
class Weights:
    """Cycles charged per event beyond the one cycle per instruction.

    * ``l1`` (10): an L1 miss that hits L2 costs about 14 cycles of latency on Zen 4, part of
      which out-of-order execution overlaps;
    * ``ll`` (100): a miss in the 1 MiB last level goes to L3 (~50 cycles) or memory (~300);
      hardware prefetchers, which cachegrind does not model, hide much of it for streams;
    * ``branch`` (15): a mispredicted branch flushes the pipeline, about 13-16 cycles on Zen.

    ``l1`` and ``ll`` are KCachegrind's long-standing "cycle estimation" constants; the
    measured agreement with CPU time for other choices is in datasets/runtime/README.md.
    """

    l1: float = 10.0
    ll: float = 100.0
    branch: float = 15.0


DEFAULT_WEIGHTS = Weights()


def cycles(c: Counts, w: Weights = DEFAULT_WEIGHTS) -> float:
    """The cycle estimate ``Ir + l1 * L1 misses + ll * LL misses + branch * mispredicts``."""
    return c.ir + w.l1 * c.l1_misses + w.ll * c.ll_misses + w.branch * c.mispredicts


def cachegrind_argv(out_file: str | os.PathLike[str]) -> list[str]:
    """valgrind's command line for the proxy (before the program's own), writing to ``out_file``
    (``%p`` in it: the process id, one file per process of a multi-step workload)."""
    return ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes", *CACHE_FLAGS,
            f"--cachegrind-out-file={os.fspath(out_file)}"]


def file_cycles(data: bytes, w: Weights | None = None) -> float | None:
    """:func:`cycles` of one cachegrind output file's totals (None when it has none)."""
    totals = callgrind.file_totals(data)
    return cycles(Counts.from_totals(totals), w or DEFAULT_WEIGHTS) if "Ir" in totals else None


def cachegrind(argv: Sequence[str | os.PathLike[str]], *, timeout: float,
               cwd: str | os.PathLike[str] | None = None, what: str = "program") -> tuple[Counts, bytes]:
    """Run ``argv`` under cachegrind (cache and branch simulation, :data:`CACHE_FLAGS`):
    its counts and its stdout.  :class:`NotRunnable` when it fails, times out or leaves no
    totals; :class:`~irpipe.errors.ToolNotFound` without valgrind."""
    with tempfile.TemporaryDirectory(prefix="irpipe-cg-") as tmp:
        out = Path(tmp) / "cachegrind.out"
        cmd = [*cachegrind_argv(out), *(os.fspath(a) for a in argv)]
        try:
            done = process.run(cmd, what=f"cachegrind {what}", timeout=timeout, cwd=cwd, check=False)
        except ToolTimeout:
            raise NotRunnable(f"{what}: ran past {timeout:g} s under cachegrind") from None
        if done.returncode != 0:
            raise NotRunnable(f"{what}: exited {done.returncode} under cachegrind\n{process.tail(done.stderr, 5)}")
        totals = callgrind.file_totals(out.read_bytes()) if out.exists() else {}
    if "Ir" not in totals:
        raise NotRunnable(f"{what}: cachegrind wrote no totals")
    return Counts.from_totals(totals), done.stdout


def kendall_tau(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Kendall's tau-b of two equally long sequences (ties in either are allowed); None when
    one of them is constant (or has fewer than two values)."""
    t = pair_counts(xs, ys)
    return tau_b(t)


def pair_counts(xs: Sequence[float], ys: Sequence[float]) -> dict[str, int]:
    """Over all pairs i < j: ``concordant``, ``discordant``, ``tied_x`` (x tied, y not),
    ``tied_y`` (y tied, x not), ``tied_both`` and ``pairs``; sums of these over groups give
    a pooled tau (:func:`tau_b`) of pairs taken within each group."""
    if len(xs) != len(ys):
        raise ValueError("kendall_tau needs two equally long sequences")
    out = dict.fromkeys(("concordant", "discordant", "tied_x", "tied_y", "tied_both", "pairs"), 0)
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            dx, dy = xs[i] - xs[j], ys[i] - ys[j]
            out["pairs"] += 1
            key = ("tied_both" if dx == 0 and dy == 0 else "tied_x" if dx == 0 else "tied_y" if dy == 0
                   else "concordant" if (dx > 0) == (dy > 0) else "discordant")
            out[key] += 1
    return out


def tau_b(t: dict[str, int]) -> float | None:
    """Kendall's tau-b from :func:`pair_counts` (or their sums); None when undefined."""
    untied_x = t["pairs"] - t["tied_x"] - t["tied_both"]
    untied_y = t["pairs"] - t["tied_y"] - t["tied_both"]
    if untied_x <= 0 or untied_y <= 0:
        return None
    return (t["concordant"] - t["discordant"]) / math.sqrt(untied_x * untied_y)
