"""irpipe.label.mca (proxy v2): basic blocks from a listing, llvm-mca weighting on a real program."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from irpipe.label import mca, proxy
from irpipe.llvm.tools import Toolchain
from irpipe.testing.gates import requires_llvm

LISTING = """\
0000000000001160 <main>:
    1160:      \tpushq\t%rbx
    1161:      \tcallq\t0x1040 <malloc@plt>
    1166:      \txorl\t%ecx, %ecx
    1168:      \taddq\t(%rax,%rcx,8), %rbx      # a comment
    116c:      \tincq\t%rcx
    116f:      \tjne\t0x1168 <main+0x8>
    1171:      \tpopq\t%rbx
    1172:      \tretq
"""



def test_blocks_split_at_targets_branches_and_count_changes() -> None:
    functions = mca.disassemble(LISTING)
    assert [len(f) for f in functions] == [8]
    counts = {0x1160: 1, 0x1161: 1, 0x1166: 1, 0x1168: 50, 0x116c: 50, 0x116f: 50, 0x1171: 1, 0x1172: 1}
    blocks = mca.split_blocks(functions, counts)
    assert [(b.start, len(b.insns), b.runs) for b in blocks] == [(0x1160, 3, 1), (0x1168, 3, 50), (0x1171, 2, 1)]
    assert blocks[0].insns[1] == "callq mca_target" and blocks[1].insns == (
        "addq (%rax,%rcx,8), %rbx", "incq %rcx", "jne mca_target")
    assert [b.start for b in mca.hot(blocks, coverage=0.9)] == [0x1168]  # 150 of 155 instructions
    assert len(mca.hot(blocks, coverage=1.0)) == 3 and len(mca.hot(blocks, coverage=1.0, limit=2)) == 2


def test_cycles_add_v1_penalties() -> None:
    est = mca.Estimate(block_cycles=300.0, covered_ir=900, total_ir=1000, blocks=2)
    counts = proxy.Counts(ir=1000, d1mr=2, dlmr=1, bcm=1)
    assert est.core_cycles == 400.0
    assert mca.cycles(est, counts) == 400.0 + 10 * 2 + 100 * 1 + 15 * 1


@requires_llvm
def test_latency_chain_costs_more_than_independent_work() -> None:
    chain = mca.Block(0, ("imulq %rax, %rax", "imulq %rax, %rax", "jne mca_target"), 1)
    free = mca.Block(0, ("imulq $3, %rbx, %rax", "imulq $5, %rbx, %rcx", "jne mca_target"), 1)
    slow, fast = mca.block_cycles([chain, free], Toolchain())
    assert slow >= 2 * fast and slow >= 5  # two 3-cycle multiplies in a row vs. in parallel


@requires_llvm
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_block_weighting_of_a_real_program(tiny_exe: Path) -> None:
    exe, tools = tiny_exe, Toolchain()
    est = mca.estimate(exe, [exe, "20000"], tools=tools, timeout=120)
    assert 1 <= est.blocks <= mca.MAX_BLOCKS
    assert 100_000 < est.covered_ir < est.total_ir  # the loops run in main; ld.so and libc are the rest
    assert 0 < est.block_cycles < est.covered_ir  # x86 runs the loops at more than one instruction a cycle
    assert mca.estimate(exe, [exe, "20000"], tools=tools, timeout=120) == est  # deterministic
    bigger = mca.estimate(exe, [exe, "40000"], tools=tools, timeout=120)
    assert bigger.block_cycles == pytest.approx(2 * est.block_cycles, rel=0.01)  # runs scale, cost per run not
