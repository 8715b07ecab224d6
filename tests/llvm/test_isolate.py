"""irpipe.llvm.isolate: malformed input never crashes or hangs the caller; memory stays bounded."""

from __future__ import annotations

import random
import resource

import pytest

from irpipe.errors import IRError
from irpipe.llvm import features, graph, ir, isolate
from irpipe.testing import faults
from irpipe.testing.gates import slow
from irpipe.testing.factories import GRAPH_IR, SIMPLE_IR, sample_modules


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Flip, delete, insert or duplicate a few byte ranges (a tiny AFL-style mutator)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(max(1, len(out)))
        op = rng.random()
        if op < 0.4:
            out[at:at + 1] = bytes([rng.randrange(256)])
        elif op < 0.6:
            del out[at:at + rng.randint(1, 64)]
        elif op < 0.8:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            out[at:at] = out[rng.randrange(max(1, len(out))):][:rng.randint(1, 32)]
    return bytes(out)


def fuzz(iterations: int, seed: int) -> dict[str, int]:
    """Feed ``iterations`` mutated modules through the public API; every outcome is a result or IRError."""
    rng = random.Random(seed)
    # real C bitcode of 50-2000 instructions (where LLVM's reader crashes most), plus IR text
    seeds = [data for _, data in sample_modules(24, max_instructions=2000, languages=("c",))][6:]
    seeds += [ir.parse(GRAPH_IR).as_bitcode(), GRAPH_IR.encode(), SIMPLE_IR.encode(),
              str(ir.parse(seeds[0])).encode()]
    outcomes = {"ok": 0, "error": 0}
    restarts = isolate.shared().restarts
    for i in range(iterations):
        data = mutate(rng.choice(seeds), rng)
        try:
            if i % 2:
                features.compute(data, name=f"fuzz{i}", per_function=True)
            else:
                graph.build_graph(data, name=f"fuzz{i}", full_text=True)
            outcomes["ok"] += 1
        except IRError as exc:
            assert "LLVM 22" in str(exc) or "no defined function" in str(exc), str(exc)
            outcomes["error"] += 1
    # the process is alive and the worker still serves valid input
    assert features.compute(SIMPLE_IR).instcount[0] == 8
    outcomes["llvm_crashes"] = isolate.shared().restarts - restarts
    return outcomes


def test_fuzzed_bitcode_and_text_never_crash_the_caller() -> None:
    outcomes = fuzz(2000, 20261123)
    # LLVM itself crashed on some inputs (in the child), and the caller saw an IRError each time
    assert outcomes["ok"] and outcomes["error"] and outcomes["llvm_crashes"], outcomes


@slow
def test_fuzz_long() -> None:
    """`make test-slow`: 30000 mutated inputs."""
    outcomes = fuzz(30000, 7)
    assert outcomes["ok"] + outcomes["error"] == 30000


def test_crash_and_hang_cost_one_call() -> None:
    with isolate.Isolated(timeout_s=2) as worker:
        with pytest.raises(IRError, match=r"crashed \(SIGSEGV\)"):
            worker.call(faults.segfault, label="boom")
        assert worker.call(len, b"abc") == 3 and worker.restarts == 1
        with pytest.raises(IRError, match="did not finish within 2 s"):
            worker.call(faults.sleep, 30, label="slow")
        assert worker.call(len, b"ab") == 2 and worker.restarts == 2


def big_module(path, megabytes: int) -> None:
    """A valid IR text file of about ``megabytes`` MB (many small functions)."""
    body = ("define i32 @f{i}(i32 %a, i32 %b) {{\n  %s = add i32 %a, %b\n  %p = mul i32 %s, %a\n"
            "  %q = xor i32 %p, %b\n  ret i32 %q\n}}\n")
    n = megabytes * 2**20 // len(body.format(i=100000)) + 10000
    with open(path, "w") as f:
        for start in range(0, n, 10000):
            f.write("".join(body.format(i=i) for i in range(start, min(n, start + 10000))))


def test_100mb_module_is_refused_or_bounded(tmp_path) -> None:
    path = tmp_path / "big.ll"
    big_module(path, 100)
    assert path.stat().st_size >= 100 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(IRError, match=r"10\d\.\d MiB, over the 64 MiB limit"):
        ir.read_module(path)
    # Allowed past the limit, the work still cannot take the machine: the child has an
    # address-space limit and dies alone.
    data = ir.read_module(path, max_bytes=None)
    with isolate.Isolated(memory_mb=1024, timeout_s=120) as worker:
        with pytest.raises(IRError, match="needing more than 1024 MiB"):
            worker.call(features.compute_arrays, data, "big.ll")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 400, grown_mb  # the caller held the bytes, never LLVM's module
