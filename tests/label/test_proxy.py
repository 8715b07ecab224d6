"""irpipe.label.proxy: cachegrind counts of a real program, the cycle formula, rank agreement."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from irpipe.errors import NotRunnable
from irpipe.label import proxy
from irpipe.testing.gates import requires_llvm




def test_cycle_formula() -> None:
    c = proxy.Counts(ir=1000, i1mr=1, ilmr=1, d1mr=2, d1mw=3, dlmr=4, dlmw=5, bcm=6, bim=7)
    assert (c.l1_misses, c.ll_misses, c.mispredicts) == (6, 10, 13)
    assert proxy.cycles(c) == 1000 + 10 * 6 + 100 * 10 + 15 * 13
    assert proxy.cycles(c, proxy.Weights(l1=0, ll=0, branch=0)) == 1000
    assert proxy.Counts.from_totals({"Ir": 5, "Bim": 2, "Other": 9}) == proxy.Counts(ir=5, bim=2)


def test_kendall_tau() -> None:
    assert proxy.kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0
    assert proxy.kendall_tau([1, 2, 3], [30, 20, 10]) == -1.0
    assert proxy.kendall_tau([1, 1, 1], [1, 2, 3]) is None
    t = proxy.pair_counts([1, 2, 2, 3], [1, 3, 2, 2])
    assert (t["concordant"], t["discordant"], t["tied_x"], t["tied_y"], t["pairs"]) == (3, 1, 1, 1, 6)
    assert proxy.tau_b(t) == pytest.approx(2 / 5)


@requires_llvm
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_cachegrind_counts_of_a_real_program(tiny_exe: Path) -> None:
    exe = tiny_exe
    counts, out = proxy.cachegrind([exe, "20000"], timeout=120)
    assert out == b"%d\n" % sum(v for v in ((i * 7919) % 1009 for i in range(20000)) if v & 1)
    assert counts.ir > 100_000 and counts.bc > 20_000 and counts.dw > 0 and counts.bcm > 0
    again, _ = proxy.cachegrind([exe, "20000"], timeout=120)
    assert again == counts  # deterministic
    bigger, _ = proxy.cachegrind([exe, "40000"], timeout=120)
    assert proxy.cycles(bigger) > proxy.cycles(counts)
    with pytest.raises(NotRunnable, match="exited 1"):
        proxy.cachegrind([exe, "7"], timeout=120)
