"""Proxy v2: llvm-mca's throughput of each hot basic block, weighted by how often it ran.

The v1 proxy (:mod:`irpipe.label.proxy`) charges one cycle per instruction, so it cannot see
that a vector instruction costs more than a scalar one, or that a loop is bound by a latency
chain rather than by its instruction count.  v2 replaces the ``Ir`` term:

1. ``valgrind --tool=callgrind --dump-instr=yes`` counts how often each instruction address of
   the executable ran (:func:`irpipe.runtime.callgrind.instr_costs`);
2. ``llvm-objdump -d`` gives the instructions; a basic block starts at a function's entry, at
   a direct branch target, after a branch or return, and wherever the executed count changes
   (which also catches the targets of indirect jumps);
3. the blocks holding :data:`COVERAGE` of the executable's instructions (at most
   :data:`MAX_BLOCKS`) go to one ``llvm-mca -mcpu=`` :data:`MCPU` ``-iterations=100 -json`` run,
   one code region each; a block's cost is its cycles per iteration (``TotalCycles /
   Iterations``: resources *and* dependency chains carried from one iteration to the next);
4. ``cycles = sum(runs * cycles per iteration) + (other instructions, one cycle each)``
   ``+ v1's miss and mispredict penalties`` (:func:`cycles`).

:data:`MCPU` is ``znver4``: the timing machine is an AMD EPYC that LLVM detects as Zen 4, and
a fixed model (not ``-mcpu=native``) keeps the figure the same on any host.  Calls are given a
latency of one cycle (``-call-latency=1``; the callee's own instructions are counted where they
run), and loads and stores are assumed not to alias (llvm-mca's default).  Everything is
deterministic: the counts are exact and llvm-mca is a simulator.

    USAGE: est = estimate(exe, [exe, "1000", "3"], tools=Toolchain(), timeout=600)
           total = cycles(est, counts)     # counts: proxy.cachegrind's, for the miss penalties
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from irpipe.errors import NotRunnable, ToolTimeout
from irpipe.label.proxy import DEFAULT_WEIGHTS, Counts, Weights
from irpipe.llvm.tools import Toolchain
from irpipe.runtime import callgrind, process

#: the scheduling model llvm-mca simulates (this machine's, fixed so that any host agrees)
MCPU = "znver4"
#: blocks are taken, hottest first, until they hold this share of the executable's instructions
COVERAGE = 0.99
#: ... or until there are this many
MAX_BLOCKS = 300
ITERATIONS = 100
_INSN = re.compile(r"^\s*([0-9a-f]+):\s+(\S.*)$")
_FUNC = re.compile(r"^[0-9a-f]+ <(.+)>:$")
_DIRECT = re.compile(r"^(\S+)\s+0x([0-9a-f]+) <[^>]*>\s*$")  # "jne 0x11b2 <main+0x52>"
_ENDS = re.compile(r"^(?:j\w+|ret\w*|ud2|hlt|loop\w*)$")


@dataclass(frozen=True)
class Block:
    """A basic block that ran: its first address, its instructions (assembly llvm-mca reads)
    and how often it ran (its first instruction's count)."""

    start: int
    insns: tuple[str, ...]
    runs: int


@dataclass(frozen=True)
class Estimate:
    """The v2 core estimate of one run, before miss penalties.

    ``block_cycles``: sum over the modelled blocks of runs * cycles per iteration;
    ``covered_ir``: the instructions those blocks executed; ``total_ir``: all instructions the
    run executed (the rest are charged one cycle each); ``blocks``: how many were modelled."""

    block_cycles: float
    covered_ir: int
    total_ir: int
    blocks: int

    @property
    def core_cycles(self) -> float:
        return self.block_cycles + (self.total_ir - self.covered_ir)


def cycles(est: Estimate, counts: Counts, w: Weights = DEFAULT_WEIGHTS) -> float:
    """Proxy v2: the blocks' modelled cycles, one cycle per other instruction, and v1's
    ``l1 * L1 misses + ll * LL misses + branch * mispredicts`` from cachegrind's ``counts``."""
    return est.core_cycles + w.l1 * counts.l1_misses + w.ll * counts.ll_misses + w.branch * counts.mispredicts


def estimate(exe: str | os.PathLike[str], argv: Sequence[str | os.PathLike[str]], *, tools: Toolchain,
             timeout: float, cwd: str | os.PathLike[str] | None = None, what: str = "program") -> Estimate:
    """Run ``argv`` (which executes ``exe``) under callgrind, split ``exe`` into basic blocks and
    model the hot ones with llvm-mca.  :class:`NotRunnable` when the run fails."""
    exe = Path(exe).resolve()
    counts, total = instruction_counts(exe, argv, timeout=timeout, cwd=cwd, what=what)
    listing = tools.run("llvm-objdump", ["-d", "--no-show-raw-insn", str(exe)], timeout=120).stdout
    blocks = hot(split_blocks(disassemble(listing.decode(errors="replace")), counts))
    per_iteration = block_cycles(blocks, tools)
    return Estimate(block_cycles=sum(b.runs * c for b, c in zip(blocks, per_iteration)),
                    covered_ir=sum(b.runs * len(b.insns) for b in blocks), total_ir=total, blocks=len(blocks))


def instruction_counts(exe: Path, argv: Sequence[str | os.PathLike[str]], *, timeout: float,
                       cwd: str | os.PathLike[str] | None, what: str) -> tuple[dict[int, int], int]:
    """Times each address of ``exe`` ran, and the run's total instruction count (callgrind)."""
    with tempfile.TemporaryDirectory(prefix="irpipe-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", "--dump-instr=yes", "--dump-line=no", "--compress-pos=no",
               f"--callgrind-out-file={out}", *(os.fspath(a) for a in argv)]
        try:
            done = process.run(cmd, what=f"callgrind {what}", timeout=timeout, cwd=cwd, check=False)
        except ToolTimeout:
            raise NotRunnable(f"{what}: ran past {timeout:g} s under callgrind") from None
        if done.returncode != 0 or not out.exists():
            raise NotRunnable(f"{what}: exited {done.returncode} under callgrind\n{process.tail(done.stderr, 5)}")
        text = out.read_bytes()
    total = callgrind.file_totals(text).get("Ir")
    if total is None:
        raise NotRunnable(f"{what}: callgrind wrote no totals")
    return callgrind.instr_costs(text, str(exe)), total


def disassemble(listing: str) -> list[list[tuple[int, str]]]:
    """``llvm-objdump -d --no-show-raw-insn`` output as functions, each a list of
    (address, instruction) with comments dropped and direct branch targets kept as ``0x...``."""
    functions: list[list[tuple[int, str]]] = []
    for line in listing.splitlines():
        if _FUNC.match(line):
            functions.append([])
            continue
        m = _INSN.match(line)
        if m and functions:
            text = " ".join(m.group(2).split("#", 1)[0].split())
            if text:
                functions[-1].append((int(m.group(1), 16), text))
    return functions


def split_blocks(functions: list[list[tuple[int, str]]], counts: dict[int, int]) -> list[Block]:
    """The basic blocks that ran (see the module docstring for where a block starts)."""
    blocks = []
    for insns in functions:
        targets = {int(m.group(2), 16) for _, t in insns if (m := _DIRECT.match(t)) and t.startswith("j")}
        current: list[tuple[int, str]] = []
        for i, (addr, text) in enumerate(insns):
            runs = counts.get(addr, 0)
            if current and (addr in targets or counts.get(current[-1][0], 0) != runs
                            or _ENDS.match(current[-1][1].split()[0])):
                blocks.append(_block(current, counts))
                current = []
            current.append((addr, text))
        if current:
            blocks.append(_block(current, counts))
    return [b for b in blocks if b.runs > 0]


def _block(insns: list[tuple[int, str]], counts: dict[int, int]) -> Block:
    """A block, its direct branch and call targets renamed to one symbol llvm-mca accepts."""
    text = tuple(f"{m.group(1)} mca_target" if (m := _DIRECT.match(t)) else t for _, t in insns)
    return Block(start=insns[0][0], insns=text, runs=counts.get(insns[0][0], 0))


def hot(blocks: list[Block], coverage: float = COVERAGE, limit: int = MAX_BLOCKS) -> list[Block]:
    """The hottest blocks (by instructions executed; ties by address) covering ``coverage``."""
    order = sorted(blocks, key=lambda b: (-b.runs * len(b.insns), b.start))
    goal, got, out = coverage * sum(b.runs * len(b.insns) for b in blocks), 0, []
    for b in order[:limit]:
        if got >= goal:
            break
        out.append(b)
        got += b.runs * len(b.insns)
    return out


def block_cycles(blocks: list[Block], tools: Toolchain, mcpu: str = MCPU) -> list[float]:
    """llvm-mca's cycles per iteration of each block (one run, one code region per block)."""
    if not blocks:
        return []
    asm = "".join(f"# LLVM-MCA-BEGIN b{i}\n" + "\n".join(b.insns) + f"\n# LLVM-MCA-END b{i}\n"
                  for i, b in enumerate(blocks))
    args = [f"-mcpu={mcpu}", f"-iterations={ITERATIONS}", "-call-latency=1", "-json",
            "--skip-unsupported-instructions=any", "-"]
    done = tools.run("llvm-mca", args, input=asm.encode(), timeout=300)
    regions = {r["Name"]: r["SummaryView"] for r in json.loads(done.stdout)["CodeRegions"]}
    return [regions[f"b{i}"]["TotalCycles"] / regions[f"b{i}"]["Iterations"] if f"b{i}" in regions
            else float(len(b.insns)) for i, b in enumerate(blocks)]
