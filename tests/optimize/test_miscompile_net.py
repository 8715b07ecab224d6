"""The miscompile net: 36 generated C programs (FP kernels with fmuladd, reductions, stencils,
libm, integer hashing, bit tricks, sorts, switches, recursion) through optimize (size and
instcount) and through the pass plugin with the advice optimize chose; each build's output must
equal the -O0 build's, byte for byte (irpipe.testing.miscompile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.label.measure import Target
from irpipe.optimize.apply import optimize
from irpipe.train.predict import Predictor
from irpipe.testing.cprograms import FAMILIES, generate
from irpipe.testing.gates import requires_llvm
from irpipe.testing.miscompile import Net

pytestmark = requires_llvm

MODEL = Path(__file__).resolve().parents[2] / "models" / "default"
PROGRAMS = generate(36, seed=0)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Net:
    """One predictor for the module; the programs' unoptimized IR in two batched clang calls."""
    work = tmp_path_factory.mktemp("net")
    for p in PROGRAMS:
        (work / p.filename).write_text(p.source)
    n = Net(Predictor.load(MODEL), work)  # verify=10, as `irpipe optimize` runs
    n.frontend([work / p.filename for p in PROGRAMS])
    return n


def test_series_is_deterministic_and_covers_every_family() -> None:
    assert [p.source for p in generate(36, seed=0)] == [p.source for p in PROGRAMS]
    assert generate(2, seed=1)[1].source != PROGRAMS[1].source
    used = {k for p in PROGRAMS for k in p.kernels}
    assert used == {f.__name__.rstrip("_") for f in FAMILIES}


@pytest.mark.parametrize("index", range(len(PROGRAMS)), ids=[p.name for p in PROGRAMS])
def test_program_prints_what_O0_prints(net: Net, index: int) -> None:
    """optimize (both objectives) and the plugin builds print the -O0 build's bytes."""
    src = net.workdir / PROGRAMS[index].filename
    before = net.compared
    diffs = net.check(src, index)
    assert not diffs, "\n\n".join(map(str, diffs))
    assert net.compared - before == 4  # 2 objectives x (optimize output, plugin build)


def test_net_sees_a_fused_build(net: Net) -> None:
    """The net's own check: the same program optimized for x86-64-v3, whose FMA fuses
    llvm.fmuladd at run time, prints other digits than -O0 (102 of 160 generated programs do)."""
    src = net.workdir / PROGRAMS[2].filename
    data = (net.workdir / "strip" / f"{src.stem}.ll").read_bytes()
    fused = optimize(data, net.predictor, objective="instcount", verify=2,
                     target=Target(cpu="x86-64-v3", strip_optnone=True))
    ref = net.reference(src)
    got = net.run(net.link(fused.bitcode, net.workdir / "fused"))
    assert got.status == ref.status == 0 and got.stdout != ref.stdout
