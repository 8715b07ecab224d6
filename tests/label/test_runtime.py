"""irpipe.label.runtime: CPU time and instruction counts with output checks; bad programs refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from irpipe.label.runtime import Miscompile, Nondeterministic, NotRunnable, Program, RuntimeEvaluator
from irpipe.testing.factories import SIMPLE_IR
from irpipe.llvm import ir

PROGRAMS = Path(__file__).resolve().parents[2] / "benchmarks" / "programs"


def test_runtime_and_instruction_counts_with_output_check() -> None:
    r = RuntimeEvaluator(Program.from_c(PROGRAMS / "sieve.c", args=["200000"]), repeats=2)
    o0 = r.measure("default<O0>", count_instructions=True)
    o3 = r.measure("default<O3>", count_instructions=True)
    assert len(o3.seconds) == len(o3.wall_seconds) == 2 and o3.median >= 0
    assert o3.instructions < o0.instructions          # callgrind counts, deterministic
    assert r.measure("default<O3>", count_instructions=True).instructions == o3.instructions
    r.reference = b"something else\n"
    with pytest.raises(Miscompile, match="changes the output"):
        r.measure("default<O3>")
    r.close()


def test_nondeterministic_and_not_runnable(tmp_path: Path) -> None:
    src = tmp_path / "nd.c"
    src.write_text('#include <stdio.h>\n#include <stdlib.h>\n'
                   'int main(void) { int *p = malloc(4); printf("%p\\n", (void *)p); return 0; }\n')
    with pytest.raises(Nondeterministic, match="differs between two -O0 runs"):
        RuntimeEvaluator(Program.from_c(src)).check_reference()
    library = Program(ir.parse(SIMPLE_IR).as_bitcode(), name="lib")
    with pytest.raises(NotRunnable, match="does not build"):
        RuntimeEvaluator(library).measure("default<O2>")
